"""One table comparing every export mode of one trained model, measured in one run.

Rows: float32 Keras (the reference), float32 / float16 / dynamic / int8 PTQ / int16x8 TFLite and
QAT int8. Columns: file size, LiteRT latency per output megapixel (same input, same threads,
modes interleaved repetition by repetition so machine load hits all of them alike), PSNR/SSIM
against ground truth on the same held-out images, PSNR drop vs the float Keras model, and the
peak RSS of a full Sony-sized frame (packed 2128×1424×4) through the tiler, measured in a fresh
subprocess per model so one measurement cannot inflate another.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from keras_lowlight.runtime.conventions import CFA_FOR_CHANNELS, PHONE_TILE, SCALE_FOR_CHANNELS
from keras_lowlight.runtime.errors import LowlightError

SONY_PACKED = (1424, 2128, 4)  # 2848×4256 Bayer → packed H×W×C
XTRANS_PACKED = (1344, 2016, 9)  # 4032×6048 X-Trans → packed
RSS_GOAL_BYTES = 2 * 1024**3
COLUMNS = [
    "mode", "backend", "file", "size_mb", "ms_per_output_mp", "speedup_vs_float32_tflite", "psnr_db", "ssim",
    "psnr_drop_db", "peak_rss_mb_full_frame",
]


@dataclasses.dataclass
class ReportConfig:
    model: str
    output: str = "quantize_report"
    data: str = "sid/synthetic"  # or "random" (development only: synthetic pairs)
    images: int = 8
    calibration_count: int = 200
    calibration_crop: int = 64
    qat_steps: int = 100
    qat_crop: int = 64
    qat_batch: int = 4
    qat_learning_rate: float = 1e-5
    threads: int = 2
    latency_size: int = 256  # packed side of the latency input (512×512 output for Bayer)
    latency_repeats: int = 7
    tile: int = PHONE_TILE["size"]
    overlap: int = PHONE_TILE["overlap"]
    memory: bool = True
    # The tiler feeds H, W multiples of 16, so the exported graphs can drop the pad/crop layers
    # (static shapes inside: XNNPACK runs them; see models.without_size_adapters).
    size_adapters: bool = False
    modes: tuple[str, ...] = ("float32", "float16", "dynamic", "int8", "int16x8")


# === Data ===


def synthetic_pairs(count: int, channels: int, size: tuple[int, int] = (96, 128), seed: int = 1):
    """Dev-only (packed, target) pairs: a smooth colour target and a dark, noisy, amplified and
    clipped packed version of it — the shape of the real task, not its statistics."""
    rng = np.random.default_rng(seed)
    scale = SCALE_FOR_CHANNELS[channels]
    h, w = size
    for _ in range(count):
        coarse = rng.uniform(0.05, 0.9, (h // 8 + 2, w // 8 + 2, 3)).astype(np.float32)
        target = np.kron(coarse, np.ones((8 * scale, 8 * scale, 1), np.float32))[: h * scale, : w * scale]
        lowres = target[::scale, ::scale]
        base = np.concatenate([lowres, lowres[..., 1:2]] if channels == 4 else [lowres] * 3, axis=-1)[..., :channels]
        noisy = base + rng.normal(0, 0.05, base.shape).astype(np.float32)
        yield np.clip(noisy, 0, 1).astype(np.float32), target


def synthetic_training_set(channels: int, crop: int, batch: int, seed: int = 2):
    import tensorflow as tf

    pairs = list(synthetic_pairs(32, channels, (crop, crop), seed))
    xs = np.stack([p for p, _ in pairs])
    ys = np.stack([t for _, t in pairs])
    return tf.data.Dataset.from_tensor_slices((xs, ys)).shuffle(32).batch(batch, drop_remainder=True).repeat()


def held_out_pairs(config: ReportConfig, channels: int) -> list[tuple[np.ndarray, np.ndarray]]:
    if config.data == "random":
        return list(synthetic_pairs(config.images, channels))
    from keras_lowlight.data import test_pairs

    cfa = CFA_FOR_CHANNELS[channels]
    pairs = []
    for packed, target in test_pairs(dataset=config.data, split="test", cfa=cfa):
        pairs.append((packed, target))
        if len(pairs) >= config.images:
            break
    if not pairs:
        raise LowlightError(f"{config.data}: no test pairs")
    return pairs


def calibration_source(config: ReportConfig, channels: int):
    if config.data == "random":
        return [p[None] for p, _ in synthetic_pairs(config.calibration_count, channels, (64, 64), seed=3)]
    from keras_lowlight.data import representative_crops

    return lambda: representative_crops(
        dataset=config.data, split="train", count=config.calibration_count, crop=config.calibration_crop
    )


# === Measurements ===


def score(engine, pairs, tile: int, overlap: int) -> tuple[float, float]:
    """Mean PSNR / SSIM (clipped, data_range 1) over the pairs, every frame through the tiler."""
    import tensorflow as tf

    from keras_lowlight.models.metrics import psnr, ssim
    from keras_lowlight.runtime.engine import enhance_frame

    psnrs, ssims = [], []
    for packed, target in pairs:
        out = np.clip(enhance_frame(engine, packed, tile=tile, overlap=overlap), 0, 1)
        y, t = tf.constant(out[None]), tf.constant(target[None].astype(np.float32))
        psnrs.append(float(psnr(t, y)[0]))
        ssims.append(float(ssim(t, y)[0]))
    return float(np.mean(psnrs)), float(np.mean(ssims))


def interleaved_latency(engines: dict[str, object], size: int, channels: int, repeats: int) -> dict[str, float]:
    """Median ms per output megapixel, one run of every engine per repetition (after a warm-up)."""
    x = np.random.default_rng(0).uniform(0, 1, (1, size, size, channels)).astype(np.float32)
    times: dict[str, list[float]] = {name: [] for name in engines}
    for engine in engines.values():
        engine.run(x)
    for _ in range(repeats):
        for name, engine in engines.items():
            start = time.perf_counter()
            y = engine.run(x)
            times[name].append(time.perf_counter() - start)
    out_mp = y.shape[1] * y.shape[2] / 1e6
    return {name: 1000 * float(np.median(t)) / out_mp for name, t in times.items()}


def measure_peak_rss(model_path: Path, packed_shape: tuple[int, int, int], tile: int, overlap: int, threads: int) -> int:
    """Peak RSS (bytes) of a fresh process that runs one full frame through the tiler."""
    code = (
        "import json, resource, sys, numpy as np\n"
        "from keras_lowlight.runtime.engine import load_engine, enhance_frame\n"
        f"engine = load_engine({str(model_path)!r}, num_threads={threads})\n"
        f"x = np.random.default_rng(0).uniform(0, 1, {tuple(packed_shape)!r}).astype(np.float32)\n"
        f"out = enhance_frame(engine, x, tile={tile}, overlap={overlap})\n"
        # VmHWM belongs to this process image; ru_maxrss would inherit the parent's peak across exec.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
        "kb = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'maxrss_kb': kb, 'shape': out.shape}))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        raise LowlightError(f"full-frame memory probe failed: {proc.stderr.strip().splitlines()[-1:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return int(result["maxrss_kb"]) * 1024


# === The report ===


def run_report(config: ReportConfig) -> list[dict]:
    """Converts, scores and times every mode; writes `report.csv` + `report.md`; prints the table."""
    from keras_lowlight import export
    from keras_lowlight.runtime.engine import KerasEngine, LiteRTEngine

    out_dir = Path(config.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = export.load_keras_model(config.model)
    channels = int(model.inputs[0].shape[-1])
    pairs = held_out_pairs(config, channels)
    print(f"held-out images: {len(pairs)} from {config.data}; packed {pairs[0][0].shape}")

    files: dict[str, Path] = {}
    calibration = calibration_source(config, channels)
    for mode in config.modes:
        print(f"converting {mode} …", flush=True)
        rep = calibration if mode in ("int8", "int16x8") else None
        data = export.convert(
            model, mode, representative=rep, calibration_count=config.calibration_count,
            size_adapters=config.size_adapters,
        )
        files[mode] = export.write_atomically(out_dir / f"model_{mode}.tflite", data)

    keras_engine = KerasEngine(model)
    float_psnr, float_ssim = score(keras_engine, pairs, config.tile, config.overlap)
    rows = [{"mode": "float32 Keras", "backend": "Keras/TF", "file": Path(config.model).name, "size_mb": Path(config.model).stat().st_size / 1e6,
             "psnr_db": float_psnr, "ssim": float_ssim, "psnr_drop_db": 0.0}]

    if config.qat_steps > 0:  # last: importing tfmot flips tf.keras for the rest of the process
        print(f"QAT fine-tuning for {config.qat_steps} steps …", flush=True)
        from keras_lowlight.training import qat

        if config.data == "random":
            dataset = synthetic_training_set(channels, config.qat_crop, config.qat_batch)
        else:
            from keras_lowlight.data import make_dataset

            cfa = CFA_FOR_CHANNELS[channels]
            dataset = make_dataset(
                dataset=config.data, split="train", cfa=cfa, crop=config.qat_crop, batch=config.qat_batch,
                training=True,
            )
        qat_model = qat.build_qat_model(model, size_adapters=config.size_adapters)
        qat.calibrate_ranges(qat_model, dataset, batches=16)
        qat.compile_for_qat(qat_model, config.qat_learning_rate)
        qat.fit_qat(qat_model, dataset, epochs=1, steps_per_epoch=config.qat_steps, verbose=2)
        files["QAT int8"] = export.write_atomically(out_dir / "model_qat_int8.tflite", qat.convert_qat(qat_model))

    engines = {mode: LiteRTEngine(path, num_threads=config.threads) for mode, path in files.items()}
    for mode, engine in engines.items():
        p, s = score(engine, pairs, config.tile, config.overlap)
        label = "int8 PTQ" if mode == "int8" else mode
        rows.append({"mode": label, "backend": f"LiteRT {engine.backend}", "file": files[mode].name, "size_mb": files[mode].stat().st_size / 1e6,
                     "psnr_db": p, "ssim": s, "psnr_drop_db": float_psnr - p})

    print("timing …", flush=True)
    timed = {"float32 Keras": keras_engine, **engines}
    latency = interleaved_latency(timed, config.latency_size, channels, config.latency_repeats)
    reference = latency.get("float32")
    for row in rows:
        key = {"int8 PTQ": "int8"}.get(row["mode"], row["mode"])
        row["ms_per_output_mp"] = latency[key]
        row["speedup_vs_float32_tflite"] = reference / latency[key] if reference else float("nan")

    if config.memory:
        frame = SONY_PACKED if channels == 4 else XTRANS_PACKED
        for row in rows:
            key = {"int8 PTQ": "int8"}.get(row["mode"], row["mode"])
            if key in ("float32", "int8"):
                print(f"peak RSS of a {frame[1]}×{frame[0]}×{frame[2]} packed frame, {key} …", flush=True)
                rss = measure_peak_rss(files[key], frame, config.tile, config.overlap, config.threads)
                row["peak_rss_mb_full_frame"] = rss / 2**20

    write_csv(rows, out_dir / "report.csv")
    table = markdown_table(rows)
    (out_dir / "report.md").write_text(table + "\n")
    print(table)
    return rows


def _fmt(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def markdown_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(c)) for c in COLUMNS) + " |")
    return "\n".join(lines)


def write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})

