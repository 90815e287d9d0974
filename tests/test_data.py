"""The tf.data pipeline: alignment of input and target, ratio cap, augmentation, protocols."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from keras_lowlight import data
from keras_lowlight.data import pipeline
from keras_lowlight.runtime import packing
from keras_lowlight.runtime.packing import XTRANS_REFERENCE
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


def _cell_coded_scenes(pattern: str, shape=(96, 128), seed: int = 0) -> tf.data.Dataset:
    """One scene whose target is a KNOWN map of its input: every 2×2 CFA cell (aligned as the
    pipeline packs it) gets a random colour; its mosaic sites hold that colour's R / G / B (no
    noise, ratio 1), and the ground truth holds the same colour on all four pixels. So the
    packed input, upsampled ×2 by nearest neighbour, IS the target — any shift, flip or transpose
    applied to one side only breaks the equality at most pixels."""
    layout = packing.layout_for(pattern)
    dy, dx = layout.offset
    h, w = shape
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 15872, size=(h // 2 + 1, w // 2 + 1, 3))  # DN above black, per colour
    yy, xx = np.mgrid[0:h, 0:w]
    grid = np.array(list(pattern)).reshape(2, 2)
    colour = np.vectorize({"R": 0, "G": 1, "B": 2}.get)(grid[yy % 2, xx % 2])
    cell_rgb = cells[(yy - dy) // 2, (xx - dx) // 2]  # (h, w, 3): the colour of each pixel's cell
    raw = (512 + np.take_along_axis(cell_rgb, colour[..., None], -1)[..., 0]).astype(np.uint16)
    gt = np.round(cell_rgb / 15871 * 65535).astype(np.uint16)

    def replace(scene):
        return {**scene, "long_srgb": tf.constant(gt),
                "short": {**scene["short"], "raw": tf.constant(raw[None]),
                          "ratio": tf.constant([1.0]), "exposure": tf.constant([10.0])}}

    return make_scenes(count=1, shape=shape, cfa_pattern=pattern, ratios=(1.0,)).map(replace)


@pytest.mark.parametrize("pattern", ["RGGB", "GBRG", "BGGR", "GRBG"])
def test_input_and_target_stay_aligned(pattern):
    """Target = nearest-upsampled packed input, exactly, crop after random crop and flip."""
    tf.random.set_seed(3)
    ds = data.make_dataset(scenes=_cell_coded_scenes(pattern), crop=16, batch=1, training=True)
    for x, y in ds.take(12):
        x, y = x[0].numpy(), y[0].numpy()
        np.testing.assert_array_equal(x[..., 3], x[..., 1])  # G2 and G1 carry the same green
        expected = np.repeat(np.repeat(x[..., :3], 2, axis=0), 2, axis=1)
        np.testing.assert_allclose(y, expected, atol=1 / 65535, rtol=0, err_msg=pattern)


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
        xa, ya = pipeline._augment(x, y)
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


# === Fresh noise every element (`noise="synthetic"`) and the RAW target ===


@pytest.mark.parametrize("signal_dn", [2.0, 20.0, 200.0, 2000.0])
def test_synthetic_noise_has_the_closed_form_mean_and_variance(signal_dn):
    """The pipeline's dark frame, on a flat field: E = y and Var = K·y + σ_TL²·Var_TL(λ) + σ_R² + 1/12."""
    from keras_lowlight.data import noise

    model = noise.NoiseModel.load()
    params = model.params_for_gain(4.0)  # ISO ≈ 4200: shot, read and row noise all matter
    scale = params.white_level - params.black_level
    ratio = 100.0
    clean = tf.fill([1200, 200], signal_dn * ratio / scale)
    dn = data.synthesize_short_dn_tf(clean, ratio, params.as_dict(), seed=[7, 11]).numpy().astype(np.float64)
    n = dn.size
    expected_var = noise.expected_variance(signal_dn, params, quantization=True)
    # Mean within 4 standard errors; variance within 3 % (sampling error ≈ 0.5 %, row noise adds some).
    assert abs(dn.mean() - signal_dn) < 4 * np.sqrt(expected_var / n) + 0.02
    assert dn.var() == pytest.approx(expected_var, rel=0.03)
    # Rounded to whole DN, as a camera's ADC writes them.
    np.testing.assert_array_equal(dn, np.round(dn))


def test_synthetic_ratios_mix_sid_ratios_and_a_log_uniform_range():
    ratios = np.array([float(data.draw_ratio_tf(tf.constant([3, i], tf.int64))) for i in range(400)])
    at_sid = np.isin(ratios, data.SID_RATIOS)
    assert 0.4 < at_sid.mean() < 0.6
    others = ratios[~at_sid]
    assert others.min() >= 50 and others.max() <= 350
    # log-uniform: about half below the geometric midpoint sqrt(50·350) ≈ 132.
    assert 0.35 < (others < np.sqrt(50 * 350)).mean() < 0.65


def test_synthetic_noise_is_fresh_every_pass_and_reproducible_per_seed():
    scenes = make_scenes(count=2, ratios=(100,))
    kwargs = dict(scenes=scenes, crop=16, batch=2, noise="synthetic", shuffle_buffer=8)
    first = data.make_dataset(seed=5, **kwargs)
    again = data.make_dataset(seed=5, **kwargs)
    other = data.make_dataset(seed=6, **kwargs)
    a = [x.numpy() for x, _ in first.take(3)]
    b = [x.numpy() for x, _ in again.take(3)]
    c = [x.numpy() for x, _ in other.take(3)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])
    # Two scenes, one pair each: every later batch re-visits them with new noise, never a copy.
    assert len({u.tobytes() for u in a}) == 3


def test_synthetic_input_is_the_noisy_long_exposure_at_the_right_brightness():
    """The amplified synthetic input averages to the clean packed target (low ISO: little clipping)."""
    from keras_lowlight.data import noise

    scenes = make_scenes(count=2, ratios=(100,))
    low_iso = noise.NoiseModel.load(profile="SonyA7S2_lowISO")
    ds = data.make_dataset(scenes=scenes, crop=32, batch=1, noise="synthetic", target="raw", seed=1,
                           noise_model=low_iso, shuffle_buffer=4)
    for x, y in ds.take(8):
        x, y = x[0].numpy(), y[0].numpy()
        assert x.shape == y.shape == (32, 32, 4)
        assert np.abs(x.mean((0, 1)) - y.mean((0, 1))).max() < 0.06
        assert np.std(x - y) > 0.01  # there is noise


def test_raw_target_is_the_packed_clean_long_exposure_aligned_with_the_input():
    scenes = make_scenes(count=1, shape=(96, 128), ratios=(100,))
    (x, y), = data.make_dataset(scenes=scenes, crop=None, batch=1, training=False, target="raw").take(1)
    scene = next(scenes.as_numpy_iterator())
    expected = np.clip((scene["long_raw"].astype(np.float32) - 512) / (16383 - 512), 0, 1)
    np.testing.assert_allclose(y[0, ..., 0].numpy(), expected[0::2, 0::2], rtol=1e-6)
    np.testing.assert_allclose(y[0, ..., 2].numpy(), expected[1::2, 1::2], rtol=1e-6)
    assert x.shape == y.shape


def test_synthetic_xtrans_pipeline_and_bad_arguments():
    scenes = make_scenes(count=1, shape=(96, 120), cfa_pattern=XTRANS_REFERENCE, ratios=(250,))
    x, y = next(iter(data.make_dataset(scenes=scenes, crop=16, batch=1, noise="synthetic", target="raw")))
    assert x.shape == y.shape == (1, 16, 16, 9)
    with pytest.raises(data.DatasetError, match="noise mode"):
        data.make_dataset(scenes=scenes, crop=16, noise="gaussian")
    with pytest.raises(data.DatasetError, match="target"):
        data.make_dataset(scenes=scenes, crop=16, target="xyz")
    old = scenes.map(lambda s: {k: v for k, v in s.items() if k != "long_raw"})
    with pytest.raises(data.DatasetError, match="long_raw"):
        data.make_dataset(scenes=old, crop=16, noise="synthetic")
