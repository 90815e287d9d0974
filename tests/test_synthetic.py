"""The synthetic SID scenes: split hygiene, reproducibility, and a ground truth that looks like
the photograph it came from (so the DNG's white balance and colour matrix match the unprocessing)."""

from __future__ import annotations

import numpy as np

from keras_lowlight.runtime import raw
from keras_lowlight.data import synthetic


def test_splits_use_distinct_photographs_and_sid_scene_ids():
    plans = {split: synthetic.scene_plans(split) for split in ("train", "validation", "test")}
    sources = {split: {p.source for p in ps} - {synthetic.LEAVES} for split, ps in plans.items()}
    assert not sources["train"] & sources["validation"]
    assert not sources["train"] & sources["test"]
    assert not sources["validation"] & sources["test"]
    assert {"motorcycle_left.png", "motorcycle_right.png"} <= sources["train"]  # stereo pair together
    first_digit = {"train": "0", "test": "1", "validation": "2"}
    for split, ps in plans.items():
        assert ps and all(f"{p.scene_id:05d}"[0] == first_digit[split] for p in ps)
        assert len({p.scene_id for p in ps}) == len(ps)
    # Procedural scenes train only; their colours come from train photographs only.
    assert sum(p.source == synthetic.LEAVES for p in plans["train"]) == synthetic.LEAVES_SCENES
    assert set(synthetic.TRAIN_PHOTOS[:3]) <= sources["train"]
    # The honest test split: >= 20 scenes, >= 60 pairs, full 512x512 crops (sRGB output size).
    test = plans["test"]
    assert len(test) >= 20 and len(test) * len(synthetic.SHORT_EXPOSURES) >= 60
    assert all((p.height, p.width) == (512, 512) for p in test)
    for p in test:  # windows lie inside their photograph
        h, w = synthetic.load_photo(p.source).shape[:2]
        assert p.top + p.height <= h and p.left + p.width <= w
    # Test windows of one photograph overlap in thin strips at most (< 2 % of a window).
    windows = {(p.source, p.top, p.left) for p in test}
    for a in windows:
        for b in windows:
            if a != b and a[0] == b[0]:
                overlap = max(0, 512 - abs(a[1] - b[1])) * max(0, 512 - abs(a[2] - b[2]))
                assert overlap < 0.02 * 512 * 512, (a, b)


def test_procedural_scenes_are_seeded_covered_and_varied():
    from keras_lowlight.data import procedural

    pixels = synthetic.train_palette_pixels()
    a = procedural.dead_leaves(np.random.default_rng(3), (96, 128), pixels)
    b = procedural.dead_leaves(np.random.default_rng(3), (96, 128), pixels)
    c = procedural.dead_leaves(np.random.default_rng(4), (96, 128), pixels)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (96, 128, 3) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    for image in (a, c):
        # Shapes everywhere: no large flat region left; edges and colour at several scales.
        assert image.std() > 0.05
        flat = np.abs(np.diff(image, axis=0)).max(-1)[:, :-1] + np.abs(np.diff(image, axis=1)).max(-1)[:-1]
        assert (flat > 1e-3).mean() > 0.3
        assert np.ptp(image.mean((0, 1))) > 0.01 or image.std(-1).mean() > 0.01  # not grey


def test_xtrans_camera_writes_fuji_like_files():
    plan = synthetic.scene_plans("validation")[0]
    scene = synthetic.make_scene(plan, seed=1, camera="fuji")
    image = raw.read_raw(scene.long_name, data=scene.long_bytes)
    assert scene.long_name.endswith(".RAF") and image.cfa_kind == "xtrans"
    assert list(image.black_levels) == [1024] * 36 and image.white_level == 16383
    assert image.mosaic.shape[0] % 6 == 0 and image.mosaic.shape[1] % 6 == 0


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
