"""Converted models for the export / runtime / QAT tests, built once per session in a subprocess.

`TFLiteConverter.convert()` leaks memory on every call in TF 2.21, and importing tfmot flips
`tf.keras` to Keras 2 for the whole process; so conversion and QAT run in a child process and
the tests only read the files it leaves behind (models, .tflite files, reference arrays).

Run as a script: `python tests/export_artifacts.py {export|qat} OUT_DIR`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODES = ("float32", "float16", "dynamic", "int8", "int16x8")
CROP = 32  # packed training / calibration crop
_cache: dict[str, Path] = {}


def synthetic_batch(count: int, size: tuple[int, int] = (CROP, CROP), seed: int = 0):
    """(packed, target) arrays drawn like `quantize_report.synthetic_pairs` (dark, noisy, clipped)."""
    from keras_lowlight.reports.quantize_report import synthetic_pairs

    pairs = list(synthetic_pairs(count, 4, size, seed=seed))
    return np.stack([p for p, _ in pairs]), np.stack([t for _, t in pairs])


def _train(model, steps: int, seed: int = 0):
    import keras

    x, y = synthetic_batch(16, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mean_absolute_error")
    model.fit(x, y, batch_size=4, epochs=max(1, steps // 4), verbose=0)
    return model


def _build_export(out: Path) -> None:
    import keras
    import tensorflow as tf

    from keras_lowlight import export, models

    keras.utils.set_random_seed(0)
    model = _train(models.get("tiny", "bayer"), steps=24)
    model.save(out / "tiny.keras")
    calibration = [x[None] for x in synthetic_batch(48, seed=5)[0]]
    info = {}
    for mode in MODES:
        data = export.convert(model, mode, representative=calibration)
        export.write_atomically(out / f"tiny_{mode}.tflite", data)
        info[mode] = export.tflite_op_names(data)

    plain = _train(models.get("tiny", "bayer", use_se=False), steps=8, seed=1)  # no global pooling
    plain.save(out / "plain.keras")
    export.write_atomically(out / "plain_float32.tflite", export.convert(plain, "float32"))

    @keras.saving.register_keras_serializable(package="keras_lowlight_tests")
    class CumulativeProduct(keras.layers.Layer):  # CUMPROD has no TFLite builtin: a Flex op
        def call(self, x):
            return tf.math.cumprod(x, axis=1)

    inputs = keras.Input((None, None, 4), name="packed_raw")
    flex = keras.Model(inputs, models.layers.DepthToSpace(2)(keras.layers.Conv2D(12, 1)(CumulativeProduct()(inputs))))
    try:
        export.convert(flex, "float32")
        info["flex_error"] = None
    except export.ExportError as e:
        info["flex_error"] = str(e)
    (out / "info.json").write_text(json.dumps(info))


def _build_qat(out: Path) -> None:
    import keras
    import tensorflow as tf

    from keras_lowlight import models
    from keras_lowlight.training import qat

    keras.utils.set_random_seed(0)
    model = _train(models.get("tiny", "bayer"), steps=40)
    model.save(out / "tiny.keras")
    x, y = synthetic_batch(16, seed=3)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4).repeat()
    qat.run_qat(
        out / "tiny.keras", out / "tiny_qat.tflite", dataset=dataset, epochs=1, steps_per_epoch=8,
        learning_rate=1e-5, weights_out=out / "tiny_qat.weights.h5",
    )
    probe = synthetic_batch(2, size=(40, 48), seed=9)[0]
    # The fitted QAT model itself, rebuilt from its weights (QAT models do not reload from .keras).
    rebuilt = qat.build_qat_model(model)
    rebuilt.load_weights(out / "tiny_qat.weights.h5")
    np.savez(out / "qat_reference.npz", probe=probe, qat=rebuilt.predict(probe, verbose=0),
             float=model.predict(probe, verbose=0))
    layers = {layer.name: type(getattr(layer, "quantize_config", None)).__name__ for layer in rebuilt.layers}
    (out / "qat_layers.json").write_text(json.dumps(layers))

    for name in ("tiny_unet", "tiny_mobile"):  # the other families go through QAT too
        other = models.get(name, "bayer")
        qat_model = qat.build_qat_model(other, size_adapters=False)
        qat.calibrate_ranges(qat_model, dataset, batches=4)
        qat.compile_for_qat(qat_model, 1e-5)
        qat.fit_qat(qat_model, dataset, epochs=1, steps_per_epoch=2, verbose=0)
        (out / f"{name}_qat.tflite").write_bytes(qat.convert_qat(qat_model))


def artifacts(kind: str) -> Path:
    """Folder with the artifacts of `kind` ("export" or "qat"), built once per test session."""
    if kind not in _cache:
        out = Path(tempfile.mkdtemp(prefix=f"lowlight-{kind}-"))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        proc = subprocess.run(
            [sys.executable, __file__, kind, str(out)], capture_output=True, text=True, env=env, timeout=900
        )
        if proc.returncode:
            raise RuntimeError(f"building {kind} artifacts failed:\n{proc.stderr[-4000:]}")
        _cache[kind] = out
    return _cache[kind]


if __name__ == "__main__":
    task, folder = sys.argv[1], Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    {"export": _build_export, "qat": _build_qat}[task](folder)
