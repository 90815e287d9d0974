"""Untrusted model files: corrupt, truncated, code-carrying or wrong-contract `.keras` / `.tflite`
files give one line naming the file, before any RAW is read."""

from __future__ import annotations

import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from keras_lowlight.runtime.errors import LowlightError
from keras_lowlight.runtime.engine import load_engine

REPO = Path(__file__).resolve().parent.parent
SHIPPED_TFLITE = REPO / "saved_models" / "mobile_bayer" / "model_int8.tflite"
# A float32 .tflite with the project's `enhance` signature whose input is 3-channel RGB (1.4 kB;
# `lowlight convert` of Input((None, None, 3)) → Conv2D(3, 3)).
RGB_TFLITE = Path(__file__).parent / "data" / "rgb_3channel.tflite"


def test_truncated_and_flipped_tflite_are_one_line_errors(tmp_path):
    source = SHIPPED_TFLITE.read_bytes()
    rng = random.Random(0)
    target = tmp_path / "model.tflite"
    for case in range(40):
        if case < 20:
            data = source[: rng.randrange(0, len(source))]
        else:
            flipped = bytearray(source)
            for _ in range(rng.randint(1, 16)):
                flipped[rng.randrange(len(flipped) if case % 2 else 4096)] = rng.randrange(256)
            data = bytes(flipped)
        target.write_bytes(data)
        try:
            engine = load_engine(target)
        except LowlightError as e:
            assert str(target) in str(e) and "\n" not in str(e), str(e)
            continue
        assert engine.channels == 4  # a flip the flatbuffer verifier accepts left a usable model


def test_rgb_tflite_is_refused_by_its_contract():
    with pytest.raises(LowlightError, match="input has 3 channels.*4 \\(packed Bayer\\) or 9"):
        load_engine(RGB_TFLITE)


def test_empty_and_foreign_tflite(tmp_path):
    for name, data in (("empty.tflite", b""), ("png.tflite", b"\x89PNG\r\n\x1a\n" + bytes(100))):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(LowlightError, match=f"{name}: not a TFLite model"):
            load_engine(tmp_path / name)


def test_bad_tflite_through_the_cli_before_any_raw_is_read(tmp_path):
    """The RAW named does not exist: the error is about the model, so it was checked first."""
    out_dir = tmp_path / "out"
    for model, needle in ((RGB_TFLITE, "input has 3 channels"),):
        result = subprocess.run(
            [sys.executable, "-m", "keras_lowlight.cli", "enhance", str(tmp_path / "missing.ARW"), "-o",
             str(out_dir), "--backend", "tflite", "--model", str(model)],
            capture_output=True, text=True,
        )
        errors = [line for line in result.stderr.splitlines() if line.startswith("lowlight")]
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert len(errors) == 1 and needle in errors[0] and str(model) in errors[0], result.stderr
        assert "missing.ARW" not in result.stderr
        assert not any(out_dir.glob("*.png"))


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory) -> dict[str, Path]:
    import keras

    from keras_lowlight import models

    folder = tmp_path_factory.mktemp("keras")
    good = folder / "good.keras"
    models.get("tiny_mobile", cfa="bayer").save(good)
    x = keras.Input((None, None, 3))
    keras.Model(x, keras.layers.Conv2D(3, 3, padding="same")(x)).save(folder / "rgb.keras")
    x = keras.Input((None, None, 4))
    keras.Model(x, keras.layers.Lambda(lambda t: t[..., :3] * 2)(x)).save(folder / "lambda.keras")
    a, b = keras.Input((None, None, 4)), keras.Input((None, None, 4))
    keras.Model([a, b], keras.layers.Add()([a, b])).save(folder / "two_inputs.keras")
    x = keras.Input((None, None, 4))
    keras.Model(x, keras.layers.GlobalAveragePooling2D()(x)).save(folder / "vector.keras")
    data = good.read_bytes()
    (folder / "truncated.keras").write_bytes(data[: len(data) // 2])
    (folder / "random.keras").write_bytes(random.Random(1).randbytes(5000))
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(folder / "no_config.keras", "w") as zout:
        for item in zin.infolist():
            if item.filename != "config.json":
                zout.writestr(item, zin.read(item.filename))
    return {p.stem: p for p in folder.glob("*.keras")}


@pytest.mark.parametrize("name,needle", [
    ("rgb", "input has 3 channels"),
    ("lambda", "safe mode only"),
    ("two_inputs", "one input and one output"),
    ("vector", "is not (batch, H, W, 3)"),
    ("truncated", "not a zip archive"),
    ("random", "not a zip archive"),
    ("no_config", "not a loadable Keras model"),
])
def test_bad_keras_files_are_one_line_errors(keras_files, name, needle):
    from keras_lowlight.evaluation.evaluate import load_model

    path = keras_files[name]
    for load in (load_engine, load_model):
        with pytest.raises(LowlightError) as info:
            load(path)
        message = str(info.value)
        assert needle in message and str(path) in message and "\n" not in message, message


def test_good_keras_file_loads(keras_files):
    assert load_engine(keras_files["good"]).channels == 4
