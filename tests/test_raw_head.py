"""`head="raw"`: every preset outputs the clean packed RAW; it saves, reloads, twins, exports to
TFLite in every mode and through QAT, and runs through the same tiler as the sRGB head."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras_lowlight import export, models
from keras_lowlight.runtime import engine as runtime  # noqa: E402
from keras_lowlight.models.losses import MU, ToneMappedL1, loss_for, mu_law  # noqa: E402
from raw_head_artifacts import MODES, artifacts, raw_pairs  # noqa: E402

CHANNELS = {"bayer": 4, "xtrans": 9}


def _x(h, w, c, seed=0):
    return np.random.default_rng(seed).random((1, h, w, c), dtype=np.float32)


@pytest.mark.parametrize("cfa", ["bayer", "xtrans"])
@pytest.mark.parametrize("name", sorted(models.PRESETS))
def test_every_preset_has_a_raw_head_shaped_like_its_input(name, cfa):
    model = models.get(name, cfa, head="raw")
    c = CHANNELS[cfa]
    assert model.name == f"{name}_{cfa}_raw" and models.head_of(model) == "raw"
    assert tuple(model.outputs[0].shape) == (None, None, None, c)
    assert model.layers[-1].name == "raw"
    if name.startswith("tiny"):  # run the small ones on an odd size
        assert tuple(model(_x(13, 11, c)).shape) == (1, 13, 11, c)
    srgb = models.get(name, cfa)
    assert models.head_of(srgb) == "srgb" and srgb.name == f"{name}_{cfa}"


def test_default_head_is_srgb_and_unknown_head_is_refused():
    assert models.get("tiny").outputs[0].shape[-1] == 3
    with pytest.raises(ValueError, match="head='rgb'"):
        models.get("tiny", head="rgb")


@pytest.mark.parametrize("name", ["tiny", "tiny_unet", "tiny_mobile"])
def test_an_untrained_raw_head_is_amplification_only(name):
    """Residual on the input, residual branch initialised at zero: the fresh model returns its input."""
    model = models.get(name, head="raw")
    x = _x(16, 18, 4)
    np.testing.assert_allclose(model(x).numpy(), x, atol=1e-6)
    assert models.get(name).outputs[0].shape[-1] == 3  # the sRGB head keeps its default initialisers


@pytest.mark.parametrize("name, cfa", [("tiny", "xtrans"), ("tiny_unet", "bayer"), ("tiny_mobile", "bayer")])
def test_raw_head_round_trips_describes_and_twins(tmp_path, name, cfa):
    model = models.get(name, cfa, head="raw")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe mode
    x = _x(16, 16, CHANNELS[cfa])
    np.testing.assert_array_equal(model(x).numpy(), loaded(x).numpy())
    kind, kwargs = models.resolve(name, cfa, head="raw")
    described_kind, described = models.describe(loaded)
    assert described_kind == kind and described["head"] == "raw"
    assert all(described.get(k, v) == v for k, v in kwargs.items())
    twin = models.build_tf_keras_twin(loaded)
    np.testing.assert_allclose(np.asarray(twin(x)), model(x).numpy(), atol=1e-5)
    assert models.head_of(twin) == "raw"


def test_tonemapped_l1_weighs_shadows_and_keeps_gradients_finite():
    import tensorflow as tf

    np.testing.assert_allclose(np.asarray(mu_law(np.array([0.0, 1.0]))), [0.0, 1.0], atol=1e-6)
    loss = ToneMappedL1()
    dark = float(loss(np.full((1, 4, 4, 4), 0.01, "float32"), np.full((1, 4, 4, 4), 0.02, "float32")))
    bright = float(loss(np.full((1, 4, 4, 4), 0.80, "float32"), np.full((1, 4, 4, 4), 0.81, "float32")))
    assert dark > 10 * bright  # the same 0.01 error counts far more in the shadows
    expected = (np.log1p(MU * 0.02) - np.log1p(MU * 0.01)) / np.log1p(MU)
    assert dark == pytest.approx(expected, rel=1e-5)
    y_pred = tf.Variable(np.array([[-0.5, 0.001, 0.3, 1.5]], "float32"))
    with tf.GradientTape() as tape:
        value = loss(np.zeros((1, 4), "float32"), y_pred)
    grad = tape.gradient(value, y_pred).numpy()
    assert np.all(np.isfinite(grad)) and np.all(np.abs(grad) > 0)
    restored = keras.losses.deserialize(keras.losses.serialize(ToneMappedL1(mu=50.0)))
    assert isinstance(restored, ToneMappedL1) and restored.mu == 50.0
    assert isinstance(loss_for("raw"), ToneMappedL1) and isinstance(loss_for("srgb"), keras.losses.MeanAbsoluteError)


def test_raw_head_learns_with_model_fit():
    keras.utils.set_random_seed(0)
    model = models.get("tiny", head="raw")
    from keras_lowlight.training.train import compile_model

    compile_model(model, 3e-3)
    assert isinstance(model.loss, ToneMappedL1)
    x, y = raw_pairs(8)
    history = model.fit(x, y, batch_size=4, epochs=6, verbose=0).history["loss"]
    assert history[-1] < 0.8 * history[0]


def test_tiler_runs_raw_heads_keras():
    model = models.get("tiny_mobile", "xtrans", head="raw", use_se=False)
    engine = runtime.KerasEngine(model)
    assert (engine.head, engine.scale, engine.out_channels) == ("raw", 1, 9)
    x = _x(70, 90, 9)[0]
    full = runtime.enhance_untiled(engine, x)
    tiled = runtime.enhance_frame(engine, x, tile=48, overlap=16)
    assert tiled.shape == full.shape == x.shape
    np.testing.assert_allclose(tiled[16:-16, 16:-16], full[16:-16, 16:-16], atol=1e-5)


# --- TFLite ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built():
    return artifacts("export")


MIN_PSNR_DB = {"float32": 90.0, "float16": 60.0, "dynamic": 35.0, "int8": 30.0, "int16x8": 35.0}


@pytest.mark.parametrize("mode", MODES)
def test_raw_head_tflite_every_mode(built, mode):
    from ai_edge_litert.interpreter import Interpreter

    path = built / f"raw_{mode}.tflite"
    interpreter = Interpreter(model_path=str(path))
    assert interpreter.get_signature_list() == {"enhance": {"inputs": ["packed_raw"], "outputs": ["raw"]}}
    assert export.non_builtin_ops(export.tflite_op_names(path)) == []
    engine = runtime.LiteRTEngine(path)
    assert (engine.head, engine.scale, engine.out_channels) == ("raw", 1, 4)
    x = raw_pairs(1, size=(48, 64), seed=11)[0][0]
    got = runtime.enhance_frame(engine, x, tile=64, overlap=16)
    reference = runtime.enhance_frame(runtime.KerasEngine(built / "raw.keras"), x, tile=64, overlap=16)
    assert got.shape == x.shape
    psnr = 10 * np.log10(1.0 / max(np.mean((got.astype(np.float64) - reference) ** 2), 1e-20))
    assert psnr >= MIN_PSNR_DB[mode], psnr


def test_raw_head_xtrans_tflite(built):
    engine = runtime.LiteRTEngine(built / "raw_xtrans_float32.tflite")
    x = _x(21, 27, 9)[0]
    np.testing.assert_allclose(runtime.enhance_untiled(engine, x),
                               runtime.enhance_untiled(runtime.KerasEngine(built / "raw_xtrans.keras"), x), atol=1e-5)


@pytest.mark.slow  # QAT of three tiny models: ~40 s
@pytest.mark.parametrize("name", ["tiny", "tiny_unet", "tiny_mobile"])
def test_raw_head_qat_int8(name):
    from ai_edge_litert.interpreter import Interpreter

    path = artifacts("qat") / f"{name}_raw_qat.tflite"
    interpreter = Interpreter(model_path=str(path))
    assert interpreter.get_signature_list() == {"enhance": {"inputs": ["packed_raw"], "outputs": ["raw"]}}
    assert "int8" in {t["dtype"].__name__ for t in interpreter.get_tensor_details()}
    probe = raw_pairs(1, size=(32, 32), seed=9)[0]
    got = runtime.LiteRTEngine(path).run(probe)  # falls back to builtin kernels if XNNPACK refuses
    reference = np.load(artifacts("qat") / f"{name}_raw_float.npy")
    assert got.shape == probe.shape
    assert 10 * np.log10(1.0 / np.mean((got - reference) ** 2)) > 25.0
