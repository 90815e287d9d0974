"""Quantization-aware training on the tf_keras twin → int8 TFLite. The QAT run itself happens in a
subprocess (tfmot flips `tf.keras` process-wide); these tests read what it produced."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from export_artifacts import artifacts
from keras_lowlight import export
from keras_lowlight.cli import main

pytestmark = pytest.mark.slow  # ~60 s on 2 loaded cores: train, calibrate, fine-tune, convert ×3

# Measured (tiny model, 8 fine-tuning steps): QAT .tflite vs the fitted QAT Keras model ≈ 46 dB,
# vs the float model ≈ 39.5 dB.
MIN_PSNR_VS_QAT_KERAS = 40.0
MIN_PSNR_VS_FLOAT = 32.0
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built():
    return artifacts("qat")


def psnr_between(a, b) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


@pytest.mark.parametrize("name", ["tiny_qat", "tiny_unet_qat", "tiny_mobile_qat"])
def test_qat_tflite_is_int8_builtin_with_enhance_signature(built, name):
    path = built / f"{name}.tflite"
    interpreter = Interpreter(model_path=str(path))
    assert interpreter.get_signature_list() == {"enhance": {"inputs": ["packed_raw"], "outputs": ["srgb"]}}
    runner = interpreter.get_signature_runner("enhance")
    (inp,), (out,) = runner.get_input_details().values(), runner.get_output_details().values()
    assert inp["dtype"] == np.float32 and out["dtype"] == np.float32
    assert list(inp["shape_signature"]) == [1, -1, -1, 4]
    ops = export.tflite_op_names(path)
    assert export.non_builtin_ops(ops) == [] and {"QUANTIZE", "DEQUANTIZE", "CONV_2D"} <= set(ops)
    assert "int8" in {t["dtype"].__name__ for t in interpreter.get_tensor_details()}
    for size in [(16, 16), (32, 48)]:  # dynamic H×W (multiples of 16 for the U-Net)
        y = runner(packed_raw=np.full((1, *size, 4), 0.2, np.float32))["srgb"]
        assert y.shape == (1, 2 * size[0], 2 * size[1], 3)


def test_qat_tflite_matches_the_fitted_qat_model(built):
    reference = np.load(built / "qat_reference.npz")
    runner = Interpreter(model_path=str(built / "tiny_qat.tflite")).get_signature_runner("enhance")
    probe = reference["probe"]
    got = np.concatenate([runner(packed_raw=probe[i : i + 1])["srgb"] for i in range(len(probe))])
    assert psnr_between(got, reference["qat"]) >= MIN_PSNR_VS_QAT_KERAS
    assert psnr_between(got, reference["float"]) >= MIN_PSNR_VS_FLOAT


def test_every_layer_got_the_right_quantize_config(built):
    configs = json.loads((built / "qat_layers.json").read_text())
    assert configs["quant_block_01_se_excite"] == "OutputQuantizeConfig"  # SE's Multiply
    assert configs["quant_pixel_shuffle"] == "NoOpQuantizeConfig"  # depth_to_space
    assert configs["quant_block_01_act"] == "Default8BitQuantizeConfig"  # LeakyReLU: default registry
    assert configs["quant_block_01_conv1"] == "Default8BitConvQuantizeConfig"
    assert configs["quant_block_01_se_squeeze"] == "Default8BitQuantizeConfig"


def test_qat_cli_errors_are_one_line_and_keep_keras_3(tmp_path, capsys):
    assert main(["qat", str(tmp_path / "missing.keras"), "-o", str(tmp_path / "q.tflite")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lowlight: error:") and "no such file" in err and "\n" not in err
    assert not (tmp_path / "q.tflite").exists()
    assert "tensorflow_model_optimization" not in sys.modules  # tfmot stays out of this process


def test_a_crop_larger_than_the_frames_is_one_line_not_a_tf_data_traceback(tmp_path):
    """The pipeline's own assertion (raised by TensorFlow from inside tf.data) reaches the user as
    its message, once, with exit code 2 and no file written."""
    out = tmp_path / "q.tflite"
    run = subprocess.run([sys.executable, "-m", "keras_lowlight.cli", "qat", "saved_models/mobile_bayer/model.keras",
                          "-o", str(out), "--crop", "4096", "--steps", "1", "--no-size-adapters"],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 2, run.stderr[-2000:]
    own = [line for line in run.stderr.splitlines() if line.startswith("lowlight")]
    assert own == ["lowlight: error: crop of 4096 packed px is larger than a frame"], run.stderr[-2000:]
    assert "Traceback" not in run.stderr and not out.exists()
