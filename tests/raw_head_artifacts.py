"""RAW-head `.tflite` files in every mode (and QAT), built once per session in a subprocess.

Conversion leaks memory in TF 2.21 and tfmot flips `tf.keras` process-wide, so, as in
export_artifacts.py, a child process writes the files and the tests only read them.

Run as a script: `python tests/raw_head_artifacts.py {export|qat} OUT_DIR`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODES = ("float32", "float16", "dynamic", "int8", "int16x8")
_cache: dict[str, Path] = {}


def raw_pairs(count: int, size=(32, 32), channels: int = 4, seed: int = 0):
    """(noisy amplified packed, clean packed) pairs: the RAW head's task in miniature."""
    rng = np.random.default_rng(seed)
    h, w = size
    coarse = rng.uniform(0.01, 0.6, (count, h // 8 + 1, w // 8 + 1, channels)).astype(np.float32)
    clean = np.kron(coarse, np.ones((1, 8, 8, 1), np.float32))[:, :h, :w]
    noisy = np.clip(clean + rng.normal(0, 0.05, clean.shape), 0, 1).astype(np.float32)
    return noisy, clean


def _fit(model, steps: int, seed: int = 0):
    import keras

    from keras_lowlight.models.losses import ToneMappedL1

    x, y = raw_pairs(16, seed=seed, channels=model.inputs[0].shape[-1])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=ToneMappedL1())
    model.fit(x, y, batch_size=4, epochs=max(1, steps // 4), verbose=0)
    return model


def _build_export(out: Path) -> None:
    import keras

    from keras_lowlight import export, models

    keras.utils.set_random_seed(0)
    model = _fit(models.get("tiny_mobile", "bayer", head="raw"), steps=16)
    model.save(out / "raw.keras")
    calibration = [x[None] for x in raw_pairs(32, seed=5)[0]]
    for mode in MODES:
        export.write_atomically(out / f"raw_{mode}.tflite", export.convert(model, mode, representative=calibration))
    xtrans = models.get("tiny", "xtrans", head="raw")
    xtrans.save(out / "raw_xtrans.keras")
    export.write_atomically(out / "raw_xtrans_float32.tflite", export.convert(xtrans, "float32"))


def _build_qat(out: Path) -> None:
    import keras
    import tensorflow as tf

    from keras_lowlight import models
    from keras_lowlight.training import qat

    keras.utils.set_random_seed(0)
    for name in ("tiny", "tiny_unet", "tiny_mobile"):
        model = _fit(models.get(name, "bayer", head="raw"), steps=8)
        x, y = raw_pairs(8, seed=3)
        dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4).repeat()
        qat_model = qat.build_qat_model(model, size_adapters=False)
        qat.calibrate_ranges(qat_model, dataset, batches=2)
        qat.compile_for_qat(qat_model, 1e-5)
        qat.fit_qat(qat_model, dataset, epochs=1, steps_per_epoch=2, verbose=0)
        (out / f"{name}_raw_qat.tflite").write_bytes(qat.convert_qat(qat_model))
        probe = raw_pairs(1, size=(32, 32), seed=9)[0]
        np.save(out / f"{name}_raw_float.npy", model.predict(probe, verbose=0))


def artifacts(kind: str) -> Path:
    if kind not in _cache:
        out = Path(tempfile.mkdtemp(prefix=f"lowlight-rawhead-{kind}-"))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        proc = subprocess.run([sys.executable, __file__, kind, str(out)], capture_output=True, text=True, env=env,
                              timeout=900)
        if proc.returncode:
            raise RuntimeError(f"building RAW-head {kind} artifacts failed:\n{proc.stderr[-4000:]}")
        _cache[kind] = out
    return _cache[kind]


if __name__ == "__main__":
    task, folder = sys.argv[1], Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    {"export": _build_export, "qat": _build_qat}[task](folder)
