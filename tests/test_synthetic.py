"""The synthetic SID scenes: split hygiene, reproducibility, and a ground truth that looks like
the photograph it came from (so the DNG's white balance and colour matrix match the unprocessing)."""

from __future__ import annotations

import numpy as np

from keras_lowlight import raw, synthetic


def test_splits_use_distinct_photographs_and_sid_scene_ids():
    plans = {split: synthetic.scene_plans(split) for split in ("train", "validation", "test")}
    sources = {split: {p.source for p in ps} for split, ps in plans.items()}
    assert not sources["train"] & sources["validation"]
    assert not sources["train"] & sources["test"]
    assert not sources["validation"] & sources["test"]
    assert {"motorcycle_left.png", "motorcycle_right.png"} <= sources["train"]  # stereo pair together
    first_digit = {"train": "0", "test": "1", "validation": "2"}
    for split, ps in plans.items():
        assert ps and all(f"{p.scene_id:05d}"[0] == first_digit[split] for p in ps)
    assert 40 <= len(plans["train"]) <= 80
    # Tiles of one photograph do not overlap.
    for ps in plans.values():
        for a in ps:
            for b in ps:
                if a is not b and a.source == b.source:
                    assert a.top + a.height <= b.top or b.top + b.height <= a.top or \
                        a.left + a.width <= b.left or b.left + b.width <= a.left


def test_scene_is_reproducible_and_ground_truth_resembles_the_photo():
    plan = synthetic.scene_plans("validation")[0]
    scene = synthetic.make_scene(plan, seed=3)
    again = synthetic.make_scene(plan, seed=3)
    assert scene.long_bytes == again.long_bytes and scene.shorts == again.shorts
    assert scene.long_name == f"{plan.scene_id:05d}_00_10s.ARW"
    assert [n for n, _ in scene.shorts] == [f"{plan.scene_id:05d}_00_{e}s.ARW" for e in ("0.1", "0.04", "0.033")]

    long_image = raw.read_raw(scene.long_name, data=scene.long_bytes)
    assert long_image.cfa_pattern == "RGGB" and long_image.white_level == 16383
    assert list(long_image.black_levels) == [512] * 4
    gt = raw.render_srgb(scene.long_name, data=scene.long_bytes) / 65535.0
    photo = synthetic.load_photo(plan.source)[plan.top : plan.top + plan.height, plan.left : plan.left + plan.width]
    assert gt.shape == photo.shape
    # Same colours and brightness as the photograph (LibRaw's BT.709 curve is not the
    # smoothstep + 2.2 gamma that was inverted, hence the loose bound), per channel too.
    assert np.abs(gt - photo).mean() < 0.08
    assert np.all(np.abs(gt.mean(axis=(0, 1)) - photo.mean(axis=(0, 1))) < 0.1)
    assert np.corrcoef(gt.ravel(), photo.ravel())[0, 1] > 0.95

    short = raw.read_raw(scene.shorts[0][0], data=scene.shorts[0][1])
    assert short.exposure_time == 0.1 and short.iso == scene.iso
    # The short frame is the long one / 100 plus noise: its mean sits near that level.
    expected = 512 + (long_image.mosaic.astype(float) - 512).mean() / 100
    assert abs(short.mosaic.mean() - expected) < 2.0
