"""The tf.data pipeline: alignment of input and target, ratio cap, augmentation, protocols."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from keras_lowlight import data
from keras_lowlight.packing import XTRANS_REFERENCE
from scenes import make_scenes


def test_pairs_flatten_every_short_frame():
    pairs = list(data.scene_pairs(make_scenes(count=3, ratios=(100, 250, 300))).as_numpy_iterator())
    assert len(pairs) == 9
    assert {int(p["burst"]) for p in pairs} == {0, 1, 2}
    assert pairs[0]["long_srgb"].shape == (96, 128, 3)


def test_training_batches_shapes_and_range():
    ds = data.make_dataset(scenes=make_scenes(), crop=16, batch=4, training=True)
    x, y = next(iter(ds))
    assert x.shape == (4, 16, 16, 4) and y.shape == (4, 32, 32, 3)
    assert float(tf.reduce_min(x)) >= 0 and float(tf.reduce_max(x)) <= 1
    assert float(tf.reduce_min(y)) >= 0 and float(tf.reduce_max(y)) <= 1


@pytest.mark.parametrize("pattern", ["RGGB", "GBRG"])
def test_input_and_target_stay_aligned(pattern):
    """Amplified packed input ≈ the target's colour at the same place, crop after crop."""
    ds = data.make_dataset(scenes=make_scenes(cfa_pattern=pattern, ratios=(100,)), crop=16, batch=1, training=True)
    for x, y in ds.take(6):
        x, y = x[0].numpy(), y[0].numpy()
        # The fake ground truth is linear: amplified R, G1, B ≈ the target's R, G, B there.
        y_small = y.reshape(16, 2, 16, 2, 3).mean((1, 3))
        error = np.abs(x[..., :3].mean((0, 1)) - y_small.mean((0, 1))).max()
        assert error < 0.05, (pattern, error)
        # Packed G1 and G2 both see the green channel.
        assert abs(x[..., 3].mean() - y_small[..., 1].mean()) < 0.05


def test_ratio_is_capped_at_300():
    scenes = make_scenes(count=1, ratios=(1000.0,))
    (x, _), = data.make_dataset(scenes=scenes, crop=None, batch=1, training=False).take(1)
    capped = make_scenes(count=1, ratios=(1000.0,))
    pair = next(data.scene_pairs(capped).as_numpy_iterator())
    norm = np.clip((pair["raw"].astype(np.float32) - 512) / (16383 - 512), 0, 1)
    expected = np.minimum(norm[0::2, 0::2] * 300, 1)
    np.testing.assert_allclose(x[0, ..., 0].numpy(), expected, rtol=1e-5)


def test_augmentation_applies_same_transform_to_both():
    x = tf.reshape(tf.range(4 * 6 * 4, dtype=tf.float32), [4, 6, 4])
    y = tf.image.resize(x[..., :3], [8, 12], method="nearest")
    tf.random.set_seed(1)
    seen = set()
    for _ in range(24):
        xa, ya = data._augment(x, y)
        np.testing.assert_array_equal(tf.image.resize(xa[..., :3], ya.shape[:2], method="nearest").numpy(), ya.numpy())
        seen.add(tuple(xa.shape))
    assert seen == {(4, 6, 4), (6, 4, 4)}  # transposes happen


def test_evaluation_crops_are_deterministic():
    ds = data.make_dataset(scenes=make_scenes(), crop=16, batch=2, training=False)
    a = [x.numpy() for x, _ in ds]
    b = [x.numpy() for x, _ in ds]
    assert len(a) == 3 and all(np.array_equal(u, v) for u, v in zip(a, b))


def test_xtrans_pipeline():
    scenes = make_scenes(count=2, shape=(96, 120), cfa_pattern=XTRANS_REFERENCE, ratios=(250,))
    x, y = next(iter(data.make_dataset(scenes=scenes, crop=16, batch=2, training=True)))
    assert x.shape == (2, 16, 16, 9) and y.shape == (2, 48, 48, 3)
    with pytest.raises(data.DatasetError, match="multiple of 2"):
        data.make_dataset(scenes=scenes, crop=15, batch=2)
    with pytest.raises(data.DatasetError, match="xtrans"):
        data.make_dataset(scenes=scenes, cfa="bayer", crop=16)


def test_protocols():
    assert data.keep_for_protocol("sid", 10034, 0)
    assert not data.keep_for_protocol("maharjan", 10034, 0)
    assert not data.keep_for_protocol("maharjan", 10001, 1)
    assert data.keep_for_protocol("all", 10001, 1)
    assert not data.keep_for_protocol("all", 10172, 1)
    with pytest.raises(data.DatasetError):
        data.keep_for_protocol("paper", 1, 0)
    scenes = make_scenes(count=2, ratios=(100, 300), first_scene=10033)  # scenes 10033, 10034
    assert len(list(data.eval_pairs(scenes=scenes, protocol="all"))) == 2
    assert len(list(data.eval_pairs(scenes=scenes, protocol="sid"))) == 2
    assert len(list(data.eval_pairs(scenes=scenes, protocol="maharjan"))) == 1


def test_eval_pairs_full_resolution():
    pair = next(data.eval_pairs(scenes=make_scenes(count=1, shape=(97, 131))))
    assert pair.packed.shape == (48, 65, 4) and pair.target.shape == (96, 130, 3)
