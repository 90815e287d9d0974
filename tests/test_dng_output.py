"""`lowlight enhance --format dng` (the denoised RAW keeping the camera's metadata) and
`--ratio auto` (the amplification estimated from the frame)."""

from __future__ import annotations

import numpy as np
import pytest
import rawpy

from keras_lowlight.runtime import enhance as enhance_lib
from keras_lowlight.runtime import exposure, isp
from keras_lowlight.runtime.dng import write_dng
from keras_lowlight.runtime.packing import XTRANS_REFERENCE
from keras_lowlight.runtime.raw import read_raw

XYZ_TO_CAM = ((0.6596, -0.2079, -0.0562), (-0.4782, 1.3016, 0.1933), (-0.0970, 0.1581, 0.5181))
NEUTRAL = (1 / 2.2, 1.0, 1 / 1.7)


def _scene_mosaic(shape, level, black=512, white=16383, seed=0):
    """A dark, textured frame whose mean black-subtracted level is ≈ `level` of the range."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    texture = 1 + 0.5 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
    signal = level * (white - black) * texture
    return np.clip(black + rng.poisson(signal) + rng.normal(0, 2, shape), 0, white).astype(np.uint16)


@pytest.fixture(scope="module")
def raw_models(tmp_path_factory):
    """A tiny RAW-head model (Bayer) and an sRGB-head one, as .keras."""
    import keras

    from keras_lowlight import models

    keras.utils.set_random_seed(0)
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for name, head in (("raw", "raw"), ("srgb", "srgb")):
        paths[name] = folder / f"tiny_{name}.keras"
        models.get("tiny_mobile", "bayer", head=head).save(paths[name])
    return paths


def test_dng_keeps_the_source_metadata_and_renders_like_the_evaluation_path(tmp_path, raw_models):
    source = write_dng(tmp_path / "IMG_0001.dng", _scene_mosaic((96, 128), 0.002), "GBRG", black_level=(510, 512, 514, 512),
                       white_level=16000, make="Pixel", model="Pixel 8", exposure_time=0.05, iso=3200,
                       as_shot_neutral=NEUTRAL, color_matrix=XYZ_TO_CAM, orientation=6)
    out = tmp_path / "out"
    report = enhance_lib.enhance([source], out, model=str(raw_models["raw"]), fmt="dng,png16", progress=False)
    assert not report.failed
    dng = out / "IMG_0001.dng"
    assert (out / "IMG_0001_16bit.png").exists()
    with rawpy.imread(str(source)) as a, rawpy.imread(str(dng)) as b:
        assert b.raw_image_visible.shape == a.raw_image_visible.shape
        np.testing.assert_array_equal(b.raw_pattern, a.raw_pattern)
        assert list(b.black_level_per_channel) == list(a.black_level_per_channel)
        assert b.white_level == a.white_level
        np.testing.assert_allclose(b.camera_whitebalance[:3], a.camera_whitebalance[:3], rtol=1e-3)
        np.testing.assert_allclose(b.color_matrix, a.color_matrix, atol=2e-3)
        assert b.sizes.flip == a.sizes.flip == 6
    src, back = read_raw(source), read_raw(dng)
    assert (back.make, back.model, back.iso) == (src.make, src.model, src.iso) == ("Pixel", "Pixel 8", 3200)
    assert back.exposure_time == pytest.approx(0.05)
    # Rendering the DNG = rendering the model output through the evaluation path.
    predictor = enhance_lib.load_predictor(raw_models["raw"], tile=None)
    ratio = enhance_lib.amplification_ratio(src)
    output = predictor.predict(enhance_lib.prepare_packed(src, ratio))
    expected = isp.render_packed(output, src.cfa_pattern, src.white_balance, src.xyz_to_cam)
    rendered = isp.render_packed(back.packed(), back.cfa_pattern, back.white_balance, back.xyz_to_cam)
    assert np.abs(rendered - expected).max() < 3e-3  # the DNG stores 14-bit integers
    # … and the PNG written beside it is that rendering too.
    import tensorflow as tf  # decodes 16-bit RGB PNGs (Pillow and imageio give 8 bits)

    png = tf.io.decode_png((out / "IMG_0001_16bit.png").read_bytes(), dtype=tf.uint16).numpy() / 65535
    assert np.abs(png - expected).max() < 1e-4


def _cli(argv, capsys) -> tuple[int, str]:
    from keras_lowlight.cli import main

    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    return code, capsys.readouterr().err


def test_dng_needs_a_raw_head_model_and_a_matching_cfa(tmp_path, raw_models, capsys):
    bayer = write_dng(tmp_path / "a.dng", _scene_mosaic((48, 64), 0.002), "RGGB")
    out = tmp_path / "out"
    code, err = _cli(["enhance", "-o", str(out), "--format", "dng", "--model", str(raw_models["srgb"]), str(bayer)],
                     capsys)
    assert code != 0 and "needs a RAW-head model" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())
    xtrans = write_dng(tmp_path / "b.dng", _scene_mosaic((72, 96), 0.002, black=1024), XTRANS_REFERENCE,
                       black_level=1024)
    report = enhance_lib.enhance([xtrans], out, model=str(raw_models["raw"]), fmt="dng", progress=False)
    assert "xtrans file" in report.failed[str(xtrans)] and not any(out.iterdir())


def test_auto_ratio_recovers_the_exposure_of_a_frame(tmp_path):
    for true_ratio in (50, 150, 300):
        level = exposure.TARGET_SIGNAL / true_ratio
        path = write_dng(tmp_path / f"IMG_{true_ratio}.dng", _scene_mosaic((96, 128), level, seed=true_ratio),
                         exposure_time=0.01)
        image = read_raw(path)
        assert exposure.estimate_ratio(image) == pytest.approx(true_ratio, rel=0.05)
        assert enhance_lib.amplification_ratio(image, ratio="auto") == exposure.estimate_ratio(image)
    # unclipped mean: a frame at the black level plus zero-mean read noise reads as no signal
    rng = np.random.default_rng(1)
    dark = np.clip(512 + rng.normal(0, 3, (96, 128)), 0, 16383).astype(np.uint16)
    path = write_dng(tmp_path / "cap_on.dng", dark)
    with pytest.raises(exposure.NoSignalError, match="no usable signal"):
        exposure.estimate_ratio(read_raw(path))


def test_auto_ratio_reads_the_typical_region_not_the_extremes(tmp_path):
    """The median of block means: a few saturated highlights do not darken the estimate (the
    whole-frame mean would halve it here), and a mostly black frame with some bright objects (a
    night sky) gets the maximum ratio, not a refusal."""
    from keras_lowlight.runtime.conventions import MAX_RATIO

    level = exposure.TARGET_SIGNAL / 100
    mosaic = _scene_mosaic((96, 120), level, seed=3).astype(np.int64)
    mosaic[:24, :48] = 16383  # a lamp: 10 % of the frame at white
    image = read_raw(write_dng(tmp_path / "lamp.dng", np.clip(mosaic, 0, 16383).astype(np.uint16)))
    median, mean = exposure.frame_statistics(image)
    assert mean > 2 * median and exposure.estimate_ratio(image) == pytest.approx(100, rel=0.1)
    rng = np.random.default_rng(4)
    sky = np.clip(512 + rng.normal(0, 2, (96, 120)), 0, 16383)
    sky[rng.integers(0, 96, 40), rng.integers(0, 120, 40)] = 16383  # stars
    assert exposure.estimate_ratio(read_raw(write_dng(tmp_path / "sky.dng", sky.astype(np.uint16)))) == MAX_RATIO


def test_auto_ratio_on_the_command_line(tmp_path, raw_models, capsys):
    rng = np.random.default_rng(1)
    dark = write_dng(tmp_path / "cap_on.dng", np.clip(512 + rng.normal(0, 3, (48, 64)), 0, 16383).astype(np.uint16))
    out = tmp_path / "out"
    cli = ["enhance", "-o", str(out), "--model", str(raw_models["raw"])]
    for asked in (["--ratio", "auto"], []):  # `auto` is also the default for a file without a SID name
        code, err = _cli(cli + asked + [str(dark)], capsys)
        assert code != 0 and "no usable signal" in err and "Traceback" not in err
        assert not any(out.iterdir())
    for bad in ("nan", "-3", "automatic"):
        code, err = _cli(cli + ["--ratio", bad, str(dark)], capsys)
        assert code == 2 and "--ratio" in err and len(err.strip().splitlines()) == 1


def test_the_contract_states_the_auto_rule_and_each_models_head():
    from keras_lowlight.runtime.contract import PREPROCESSING, RENDER, load_contract

    auto = load_contract()["preprocessing"]["ratio"]["auto"]
    assert auto == PREPROCESSING["ratio"]["auto"] and auto["target_signal"] == exposure.TARGET_SIGNAL
    for entry in load_contract()["models"]:
        assert entry["head"] in ("srgb", "raw") and entry["render"] == RENDER[entry["head"]]
        assert (entry["output"]["name"], entry["output"]["channels"]) == (
            ("raw", entry["input"]["channels"]) if entry["head"] == "raw" else ("srgb", 3))
