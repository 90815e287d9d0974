"""Keras → TFLite in every mode: signature, builtin ops only, agreement with Keras, dynamic H×W,
one-line errors. Conversion happens once, in a subprocess (see export_artifacts.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from export_artifacts import MODES, artifacts, synthetic_batch
from keras_lowlight import export
from keras_lowlight.cli import main

# Agreement with the float Keras model on inputs drawn like the calibration crops. Measured on
# the tiny trained model (TF 2.21, LiteRT 2.3): float32 max |Δ| ≈ 8e-7; PSNR between outputs
# float16 ≈ 78 dB, dynamic ≈ 53 dB, int8 ≈ 42 dB, int16x8 ≈ 46 dB. Thresholds leave margin.
FLOAT32_MAX_ABS = 1e-5
MIN_PSNR_DB = {"float16": 60.0, "dynamic": 40.0, "int8": 32.0, "int16x8": 35.0}


@pytest.fixture(scope="module")
def built():
    return artifacts("export")


@pytest.fixture(scope="module")
def keras_model(built):
    return export.load_keras_model(built / "tiny.keras")


def psnr_between(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def run_signature(path, x: np.ndarray) -> np.ndarray:
    runner = Interpreter(model_path=str(path), num_threads=2).get_signature_runner("enhance")
    return runner(packed_raw=x)["srgb"]


@pytest.mark.parametrize("mode", MODES)
def test_signature_is_enhance_with_float_io_and_dynamic_size(built, mode):
    interpreter = Interpreter(model_path=str(built / f"tiny_{mode}.tflite"))
    assert interpreter.get_signature_list() == {"enhance": {"inputs": ["packed_raw"], "outputs": ["srgb"]}}
    runner = interpreter.get_signature_runner("enhance")
    (inp,), (out,) = runner.get_input_details().values(), runner.get_output_details().values()
    assert inp["dtype"] == np.float32 and out["dtype"] == np.float32
    assert list(inp["shape_signature"]) == [1, -1, -1, 4]


@pytest.mark.parametrize("mode", MODES)
def test_only_builtin_ops(built, mode):
    ops = export.tflite_op_names(built / f"tiny_{mode}.tflite")
    assert export.non_builtin_ops(ops) == []
    assert {"CONV_2D", "DEPTH_TO_SPACE", "MEAN", "MUL", "LEAKY_RELU"} <= set(ops)
    assert ops == json.loads((built / "info.json").read_text())[mode]


def test_quantized_modes_hold_integer_tensors(built):
    def dtypes(mode):
        interpreter = Interpreter(model_path=str(built / f"tiny_{mode}.tflite"))
        return {t["dtype"].__name__ for t in interpreter.get_tensor_details()}

    assert "int8" not in dtypes("float32")
    assert "float16" in dtypes("float16")
    assert "int8" in dtypes("dynamic")
    assert {"int8", "int32"} <= dtypes("int8")
    assert {"int16", "int8"} <= dtypes("int16x8")


@pytest.mark.parametrize("mode", MODES)
def test_outputs_agree_with_keras(built, keras_model, mode):
    x = synthetic_batch(1, size=(40, 48), seed=11)[0]
    expected = keras_model.predict(x, verbose=0)
    got = run_signature(built / f"tiny_{mode}.tflite", x)
    assert got.shape == expected.shape == (1, 80, 96, 3)
    if mode == "float32":
        assert np.max(np.abs(got - expected)) <= FLOAT32_MAX_ABS
    else:
        assert psnr_between(got, expected) >= MIN_PSNR_DB[mode]


@pytest.mark.parametrize("mode", ["float32", "int8"])
def test_two_sizes_through_one_interpreter(built, keras_model, mode):
    interpreter = Interpreter(model_path=str(built / f"tiny_{mode}.tflite"), num_threads=2)
    runner = interpreter.get_signature_runner("enhance")
    for size in [(32, 32), (24, 56)]:
        x = synthetic_batch(1, size=size, seed=4)[0]
        got = runner(packed_raw=x)["srgb"]
        assert got.shape == (1, 2 * size[0], 2 * size[1], 3)
        assert psnr_between(got, keras_model.predict(x, verbose=0)) >= (100 if mode == "float32" else 32)


def test_flex_op_fails_at_conversion(built):
    message = json.loads((built / "info.json").read_text())["flex_error"]
    assert message is not None and "tf.Cumprod" in message and "no TFLite builtin" in message
    assert "\n" not in message


# === Errors (no conversion needed) ===


def test_missing_model_is_one_line_error(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "nope.keras"), "-o", str(tmp_path / "out.tflite")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lowlight: error:") and "no such file" in err and "\n" not in err
    assert not (tmp_path / "out.tflite").exists()


def test_garbage_keras_file_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"not a zip")
    assert main(["convert", str(bad), "-o", str(tmp_path / "out.tflite")]) == 2
    assert "not a loadable Keras model" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [bad]  # no half-written output


def test_int8_without_calibration_data_is_refused(built, tmp_path, capsys):
    out = tmp_path / "out.tflite"
    assert main(["convert", str(built / "tiny.keras"), "-o", str(out), "--mode", "int8"]) == 2
    assert "--representative" in capsys.readouterr().err
    with pytest.raises(export.ExportError, match="representative"):
        export.convert(object(), "int8")
    with pytest.raises(export.ExportError, match="unknown mode"):
        export.convert(object(), "int4")
    assert not out.exists()


def test_calibration_crops_are_checked():
    with pytest.raises(export.ExportError, match="empty"):
        export.calibration_batches([])
    with pytest.raises(export.ExportError, match="shape"):
        export.calibration_batches([np.zeros((4,), np.float32)])
    batches = export.calibration_batches(lambda: iter([np.zeros((2, 8, 8, 4)), np.zeros((8, 8, 4))]), count=5)
    assert [b.shape for b in batches] == [(1, 8, 8, 4)] * 3


def test_not_a_tflite_file(tmp_path):
    fake = tmp_path / "model.tflite"
    fake.write_bytes(b"\x00" * 64)
    with pytest.raises(export.ExportError, match="not a TFLite model"):
        export.read_tflite(fake)
    with pytest.raises(export.ExportError, match="no such file"):
        export.tflite_op_names(tmp_path / "missing.tflite")


def test_name_signature_gives_enhance_to_an_unnamed_graph(built):
    data = (built / "tiny_float32.tflite").read_bytes()
    renamed = export.name_signature(data)  # idempotent on an already-named model
    assert Interpreter(model_content=renamed).get_signature_list() == {
        "enhance": {"inputs": ["packed_raw"], "outputs": ["srgb"]}
    }
