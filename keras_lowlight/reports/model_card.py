"""Packaging a trained run into `saved_models/<name>/` with a model card measured on the spot.

`lowlight package RUN_DIR -o saved_models/mobile_bayer` copies the best `.keras`, converts it to
int8 (calibrated on crops from the training pipeline) and float16 `.tflite`, evaluates every file
on the test split of the run's dataset beside amplification-only and BM3D, scores the Keras model
and the int8 file on the real-sensor check (`keras_lowlight.data.sensor_check`; its frame is a Bayer
DNG, so an X-Trans card says plainly that no real X-Trans frame was checked), draws the validation
curve from the run's `log.csv` and before/after pictures made by `lowlight enhance` with the int8 file, and writes `MODEL_CARD.md` and `metrics.json` from those measurements and the
run's own `config.json` / `log.csv` / `train_time.json` — no number or fact in a card is typed by
hand: the dataset, decay, training hardware and wall time are what the run recorded while it trained.

The package is built in a hidden sibling folder and swapped in with one atomic rename, so a
killed packager leaves the previous package as it was; an existing package is replaced only
with `force=True`. `mobile/MODEL_CONTRACT.json` is rewritten only with `update_contract=True`.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from keras_lowlight.runtime.errors import LowlightError
from keras_lowlight.training.hardware import hardware

TRAINED_IN = re.compile(r"trained in (\d+(?:\.\d+)?) s")
CURVE = "validation_curve.png"
PICTURE = "before_after.png"
REAL_SENSOR_PICTURE = "before_after_real_sensor.png"


@dataclass(frozen=True)
class RealSensorCheck:
    """The real-sensor check as packaging runs it: the Canon DNG (`sensor_check.default_dng()`
    unless `dng` is given) darkened at ×100/×250/×300, one frame each of a central `crop`. BM3D
    dominates its cost (seen on the 2-core machine: ~11 s for one 512-px frame when quiet, ~2 min
    for a 1024-px one under load), so 512 px (several chart patches) keeps it near a minute."""

    dng: str | None = None
    crop: int = 512
    bursts: int = 1
    seed: int = 0
    ratios: tuple[float, ...] | None = None  # None: sensor_check.RATIOS


CFA_NAMES = {"bayer": "Bayer", "xtrans": "X-Trans"}
# The real archive a synthetic-trained model should be retrained on, per CFA (the card's Limits).
REAL_DATASET = {"bayer": "sid/sony", "xtrans": "sid/fuji"}

DATASET_NOTES = {
    "sid/synthetic": "the embedded synthetic set: photographs unprocessed to Sony-like RAW, darkened with the "
                     "calibrated Sony a7S II noise model",
    "sid/synthetic_xtrans": "the embedded synthetic X-Trans set: photographs unprocessed to X-T2-like RAW with an "
                            "approximate noise profile",
    "sid/sony": "SID's Sony a7S II archive (real short / long exposure pairs)",
    "sid/fuji": "SID's Fujifilm X-T2 archive (real short / long exposure pairs)",
}


# QAT crop side in packed px: the Bayer recipe's 128 (256-px mosaic crops); the embedded X-Trans
# frames are only 84 packed px a side (252-px mosaics), so X-Trans fine-tunes on its training crop.
QAT_CROP = {"bayer": 128, "xtrans": 64}
QAT_LEARNING_RATE, QAT_BATCH = 1e-5, 4


@dataclass(frozen=True)
class QatRecipe:
    """How the shipped int8 files are made: `steps` > 0 of quantization-aware fine-tuning
    (`lowlight qat`) on `noise` ("recorded" / "synthetic"; None: the run's own) at `learning_rate`;
    0: post-training quantization only."""

    steps: int = 0
    noise: str | None = None
    learning_rate: float = QAT_LEARNING_RATE


def training_record(run_dir: Path) -> dict:
    """What the run logged about itself while training (`train_time.json`): wall seconds and the
    hardware of every segment; {} for runs that predate it."""
    timing = run_dir / "train_time.json"
    return json.loads(timing.read_text()) if timing.exists() else {}


def training_seconds(run_dir: Path, logs: list[Path]) -> float | None:
    """Wall time of the run: `train_time.json` if the run wrote one, else the CLI's own
    `trained in N s` lines in the given stdout logs (summed over resumed segments)."""
    record = training_record(run_dir)
    if "seconds" in record:
        return float(record["seconds"])
    total, found = 0.0, False
    for log in logs:
        for match in TRAINED_IN.finditer(Path(log).read_text(errors="replace")):
            total += float(match.group(1))
            found = True
    return total if found else None


def package(
    run_dir: str | os.PathLike,
    output: str | os.PathLike,
    dataset: str | None = None,
    logs: list[str] | None = None,
    command: str | None = None,
    calibration_crops: int = 200,
    force: bool = False,
    update_contract: bool = False,
    limit: int | None = None,
    real_sensor: RealSensorCheck | None = None,
    qat_steps: int = 0,
    qat_noise: str | None = None,
    qat_learning_rate: float = QAT_LEARNING_RATE,
) -> Path:
    """Packages a finished run into `output` (see the module docstring). `dataset`: the one whose
    test split the card reports; default the dataset the run trained on. `limit`: score only the
    first N test pairs (quick checks and tests; the card and metrics.json say so — never ship
    that). `real_sensor`: the real-sensor check's settings (default `RealSensorCheck()`). `qat_steps` > 0:
    the shipped int8 files come from quantization-aware fine-tuning (`lowlight qat`, that many steps
    on the run's data; `qat_noise`: "recorded" or "synthetic" noise, default the run's; `qat_learning_rate`
    as `lowlight qat` takes it); the post-training-quantized file ships beside them as
    `model_int8_ptq.tflite` and both are measured."""
    from keras_lowlight.runtime import contract as contract_lib

    run_dir, out = Path(run_dir), Path(output)
    best = run_dir / "best.keras"
    if not best.exists():
        raise LowlightError(f"{run_dir}: no best.keras (not a finished training run)")
    if out.exists() and not out.is_dir():
        raise LowlightError(f"{out} exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise LowlightError(f"{out} already holds a package; give --force to replace it")
    shipped = contract_lib.REPO / "saved_models"
    if update_contract and out.resolve().parent != shipped:
        raise LowlightError(f"--update-contract describes files under {shipped.name}/ of this checkout; "
                            f"{out} is elsewhere")
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.partial-*"):  # left by a killed packager
        shutil.rmtree(stale, ignore_errors=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    staging.mkdir()
    try:
        _build(run_dir, staging, out.name, dataset, logs, command, calibration_crops, limit,
               real_sensor or RealSensorCheck(), QatRecipe(qat_steps, qat_noise, qat_learning_rate))
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if update_contract:
        contract_lib.write_contract(sorted(shipped.glob("*/*.tflite")))
    return out


def rate_text(rate: float) -> str:
    """A learning rate as a person writes it: 1e-05 → '1e-5', 0.0003 → '0.0003'."""
    return f"{rate:g}".replace("e-0", "e-")


def qat_command(best: Path, output: Path, *, dataset: str, cfa: str, noise: str, steps: int,
                learning_rate: float = QAT_LEARNING_RATE, crop: int | None = None, batch: int = QAT_BATCH,
                tile_output: Path | None = None, tile: int = 256) -> list[str]:
    """The `lowlight qat` command line the packager runs (and `benchmarks/qat_variants.py` varies)."""
    command = [sys.executable, "-m", "keras_lowlight.cli", "qat", str(best), "-o", str(output),
               "--no-size-adapters", "--data", dataset, "--noise", noise, "--steps", str(steps), "--epochs", "1",
               "--crop", str(crop or QAT_CROP[cfa]), "--batch", str(batch),
               "--learning-rate", rate_text(learning_rate)]
    if tile_output is not None:
        command += ["--tile-output", str(tile_output), "--tile", str(tile)]
    return command


def _quantization_aware(best: Path, config: dict, qat: QatRecipe, output: Path, tile_output: Path,
                        tile: int) -> str:
    """`lowlight qat` in a child process: tfmot flips `tf.keras` to Keras 2 for the whole process
    (TF_USE_LEGACY_KERAS), which must not leak into the rest of the packaging. Returns the card's
    description of what ran, made from the same settings as the command."""
    crop, noise = QAT_CROP[config["cfa"]], qat.noise or config.get("noise") or "recorded"
    command = qat_command(best, output, dataset=config["dataset"], cfa=config["cfa"], noise=noise,
                          steps=qat.steps, learning_rate=qat.learning_rate, crop=crop, tile_output=tile_output,
                          tile=tile)
    done = subprocess.run(command, stderr=subprocess.PIPE, text=True)  # its progress bar shows
    if done.returncode != 0 or not output.exists() or not tile_output.exists():
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise LowlightError(f"quantization-aware fine-tuning failed: {last}")
    return (f"QAT: {qat.steps} steps of `lowlight qat` (lr {rate_text(qat.learning_rate)}, crop {crop}, "
            f"batch {QAT_BATCH}, noise {noise}) from model.keras; PTQ file beside it")


def contract_status(out: Path) -> str:
    """One line for the user: does mobile/MODEL_CONTRACT.json describe this package's files?"""
    from keras_lowlight.runtime import contract as contract_lib

    shipped = contract_lib.REPO / "saved_models"
    if Path(out).resolve().parent != shipped:
        return f"{contract_lib.CONTRACT_PATH.name}: not concerned ({out} is outside saved_models/)"
    entries = {m["file"]: m for m in contract_lib.load_contract()["models"]}
    stale = []
    for path in sorted(Path(out).resolve().glob("*.tflite")):
        rel = path.relative_to(contract_lib.REPO).as_posix()
        if rel not in entries or contract_lib.check_model(entries[rel], path):
            stale.append(rel)
    if stale:
        return (f"{contract_lib.CONTRACT_PATH.name} NOT updated and out of step for {', '.join(stale)}: "
                "rerun with --update-contract")
    return f"{contract_lib.CONTRACT_PATH.name}: unchanged (it already describes these files)"


def _swap_in(staging: Path, out: Path) -> None:
    """Puts the finished `staging` folder at `out` atomically: renameat2(RENAME_EXCHANGE) swaps
    the two folders in one step (Linux ≥ 3.15); elsewhere two renames (a brief window)."""
    if not out.exists():
        os.rename(staging, out)
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        at_fdcwd, rename_exchange = -100, 2
        if libc.renameat2(at_fdcwd, os.fsencode(staging), at_fdcwd, os.fsencode(out), rename_exchange) == 0:
            return  # `staging` now holds the previous package; the caller removes it
    except (AttributeError, OSError):
        pass
    previous = out.parent / f".{out.name}.previous-{os.getpid()}"
    os.rename(out, previous)
    os.rename(staging, out)
    shutil.rmtree(previous, ignore_errors=True)


def tflite_predictor(path: Path, static: bool = False):
    """(head, packed → output) for a `.tflite` file, run as the card measures it: LiteRT with 2
    threads through the shipped tiler (`runtime.contract.TILE`); a file compiled for one tile shape
    (`static`) runs exactly that tile. Shared by the packager, `tests/card_check.py` and
    `benchmarks/qat_variants.py`, so all three measure a file the same way."""
    from keras_lowlight.runtime import contract as contract_lib
    from keras_lowlight.runtime.engine import LiteRTEngine, enhance_frame

    engine = LiteRTEngine(path, num_threads=2)
    tile = contract_lib.TILE
    return engine.head, lambda packed: enhance_frame(engine, packed, tile=tile["size"],
                                                     overlap=tile["overlap"], shrink=not static)


def _build(run_dir: Path, out: Path, name: str, dataset: str | None, logs: list[str] | None,
           command: str | None, calibration_crops: int, limit: int | None, real_sensor: RealSensorCheck,
           qat: QatRecipe = QatRecipe()) -> None:
    from keras_lowlight.runtime import contract as contract_lib
    from keras_lowlight import data, export
    from keras_lowlight.evaluation.evaluate import evaluate
    from keras_lowlight.models import head_of

    config = json.loads((run_dir / "config.json").read_text())
    dataset = dataset or config["dataset"]
    rows = list(csv.DictReader(open(run_dir / "log.csv")))
    # The shipped config names folders relative to a checkout, never this machine's paths.
    shipped_config = {k: (f"runs/{Path(v).name}" if k in ("output", "data_dir", "manual_dir") and v
                          and Path(v).is_absolute() else v) for k, v in config.items()}
    (out / "training_config.json").write_text(json.dumps(shipped_config, indent=2))
    model = export.load_keras_model(run_dir / "best.keras")
    model.save(out / "model.keras")  # loaded without compile: ships the weights, not Adam's moments
    head = head_of(model)

    crops = list(data.representative_crops(dataset, "train", count=calibration_crops, crop=64, cfa=config["cfa"]))
    tile = contract_lib.TILE["size"]
    int8_name = "model_int8_ptq.tflite" if qat.steps else "model_int8.tflite"
    # Without the pad/crop size adapters: static shapes inside, so XNNPACK runs the whole graph;
    # callers pad H, W to `models.input_multiple` (the tiler does, on a multiple of 16).
    files = {
        "int8 PTQ" if qat.steps else "int8": export.write_atomically(
            out / int8_name, export.convert(model, "int8", representative=crops, size_adapters=False)),
        "float16": export.write_atomically(
            out / "model_float16.tflite", export.convert(model, "float16", size_adapters=False)),
    }
    # One fixed tile shape for runtimes that compile a single shape (LiteRT.js, CompiledModel).
    static_mode = f"int8 {tile}x{tile}"
    static_file = out / f"model_int8_tile{tile}.tflite"
    quantization = f"PTQ: {calibration_crops} calibration crops of the train split"
    if qat.steps:
        files = {"int8": out / "model_int8.tflite", **files}
        quantization = _quantization_aware(run_dir / "best.keras", config, qat, files["int8"], static_file,
                                           tile)
        files[static_mode] = static_file
    else:
        files[static_mode] = export.write_atomically(
            static_file, export.convert(model, "int8", representative=crops, size_adapters=False, static_tile=tile))

    # BM3D does not depend on the model file: measured once, with the Keras model, on the same pairs.
    results = {"keras float32": evaluate(model, dataset=dataset, output=out / "evaluation", progress=False,
                                         baselines=("bm3d",), limit=limit)}
    for mode, path in files.items():
        file_head, predict = tflite_predictor(path, static=mode == static_mode)  # a fixed shape runs its tile
        results[f"tflite {mode}"] = evaluate(None, dataset=dataset, output=None, progress=False, head=file_head,
                                             predictor=predict, limit=limit)
    file_of = {"keras float32": "model.keras", **{f"tflite {mode}": path.name for mode, path in files.items()}}
    summary = _quality_rows(results, file_of)
    pictures = {"test": _picture(out / PICTURE, files["int8"], head, _sample_scene(dataset))}
    sensor = _real_sensor(out, model, files["int8"], head, config["cfa"], real_sensor)
    if sensor.get("picture"):
        pictures["real sensor"] = sensor["picture"]
    record = training_record(run_dir)
    seconds = training_seconds(run_dir, [Path(p) for p in logs or []])
    steps_per_epoch = int(config["steps_per_epoch"])
    metrics = {
        "dataset": dataset,
        "dataset_version": _dataset_version(dataset),
        "dataset_fingerprint": data.split_fingerprint(dataset, "test"),  # tests/card_check.py compares it
        "split": "test",
        "protocol": "all",
        "limit": limit,  # None: every test pair
        "head": head,
        "int8_quantization": quantization,
        "steps": int(float(rows[-1]["epoch"]) + 1) * steps_per_epoch if rows else None,
        "epochs": len(rows),
        "training_seconds": seconds,
        # As the run logged it while training (train_time.json); None for runs that predate that.
        "training_hardware": record.get("hardware"),
        "evaluated_on": hardware(),
        "results": summary,
        "per_ratio": results["keras float32"].summary(),
        # Per test pair and file, so tests/test_shipped_models.py can re-check any subset exactly.
        "per_image": {file_of[n]: [{"file": r.file, "psnr": round(r.psnr, 4), "ssim": round(r.ssim, 5),
                                    "delta_e": round(r.delta_e, 4)} for r in report.results]
                      for n, report in results.items()},
        "validation": validation_curve(rows, steps_per_epoch, out / CURVE,
                                       title=f"{name}: {config['preset']} on {config['dataset']} (log.csv)"),
        "real_sensor": {k: v for k, v in sensor.items() if k != "picture"},
        "pictures": pictures,
        "files": {p.name: p.stat().st_size for p in [out / "model.keras", *files.values()]},
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "MODEL_CARD.md").write_text(render_card(name, config, metrics, command, results["keras float32"]))


def _quality_rows(results: dict, file_of: dict[str, str]) -> dict[str, dict]:
    """metrics.json `results`: overall numbers per file, BM3D (measured once, with the Keras
    model, on the same pairs) beside each, and the margins over both baselines."""
    keras_row = results["keras float32"].summary()["overall"]
    bm3d = {k: v for k, v in keras_row.items() if k.startswith("bm3d_")}
    rows = {}
    for name, report in results.items():
        row = {**report.summary()["overall"], "file": file_of[name]}
        if name != "keras float32" and bm3d:
            row.update(bm3d, bm3d_measured_with="keras float32")
        row["margin_psnr_vs_amplify"] = row["psnr"] - row["baseline_psnr"]
        row["margin_ssim_vs_amplify"] = row["ssim"] - row["baseline_ssim"]
        row["margin_delta_e_vs_amplify"] = row["delta_e"] - row["baseline_delta_e"]
        if "bm3d_psnr" in row:
            row["margin_psnr_vs_bm3d"] = row["psnr"] - row["bm3d_psnr"]
            row["margin_ssim_vs_bm3d"] = row["ssim"] - row["bm3d_ssim"]
            row["margin_delta_e_vs_bm3d"] = row["delta_e"] - row["bm3d_delta_e"]
        rows[name] = row
    return rows


def validation_curve(rows: list[dict], steps_per_epoch: int, path: Path, title: str = "PSNR per epoch") -> dict:
    """Draws train / validation PSNR per epoch from the run's log.csv (x: training steps) into
    `path`, and returns what the card states about it: the best validation PSNR, where it was
    reached, and how much the last quarter of training still added (≈ 0: the curve is flat)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_epoch = {int(float(r["epoch"])): r for r in rows}  # a resumed run may log an epoch twice: keep the last

    def series(key: str) -> tuple[list[int], list[float]]:
        points = [((e + 1) * steps_per_epoch, float(r[key])) for e, r in sorted(by_epoch.items())
                  if r.get(key) not in (None, "", "nan")]
        return [x for x, _ in points], [y for _, y in points]

    val_x, val_y = series("val_psnr")
    train_x, train_y = series("psnr")
    if not val_x and not train_x:
        return {"curve": None, "note": "log.csv has no psnr / val_psnr column"}
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if train_x:
        ax.plot(train_x, train_y, color="0.6", lw=1, label="train PSNR (running mean over the epoch)")
    stats: dict = {"curve": path.name}
    if val_x:
        ax.plot(val_x, val_y, color="tab:blue", lw=1.6, marker="." if len(val_x) < 40 else None,
                label="validation PSNR (as model.fit logged it)")
        best = max(range(len(val_y)), key=val_y.__getitem__)
        ax.axvline(val_x[best], color="tab:blue", ls=":", lw=1)
        quarter = val_x[-1] - (val_x[-1] - val_x[0]) / 4 if len(val_x) > 1 else val_x[-1]
        before = [y for x, y in zip(val_x, val_y) if x < quarter]
        stats.update(best_val_psnr=val_y[best], best_step=val_x[best], last_val_psnr=val_y[-1],
                     last_step=val_x[-1], last_quarter_from_step=int(quarter),
                     last_quarter_gain_db=max(val_y) - max(before) if before else None)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("training step")
    ax.set_ylabel("PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return stats


def _sample_scene(dataset: str) -> dict:
    """The best-lit test scene of `dataset` (numpy, `sid` schema): the before/after frame."""
    from keras_lowlight import data

    scenes = list(data.load_scenes(dataset, "test").as_numpy_iterator())
    return max(scenes, key=lambda s: s["long_srgb"].mean())


def _real_sensor(out: Path, model, int8: Path, head: str, cfa: str, check: RealSensorCheck) -> dict:
    """The real-sensor check (`keras_lowlight.data.sensor_check`) for the Keras model (beside
    amplification-only and BM3D) and the int8 file, and its before/after picture."""
    from keras_lowlight.data import sensor_check
    from keras_lowlight.data import scenes_from_examples
    from keras_lowlight.evaluation.evaluate import evaluate

    dng = Path(check.dng) if check.dng else sensor_check.default_dng()
    if cfa != "bayer":
        name = CFA_NAMES.get(cfa, cfa)
        source = f"{dng.name} from a {_camera_of(dng)}" if dng.exists() else dng.name
        return {"skipped": f"there is no real {name} RAW frame in this project (the real-sensor check frame, "
                           f"{source}, is a Bayer DNG, which this {name} model cannot "
                           "read), so the model is measured on the synthetic test split only"}
    if not dng.exists():
        return {"skipped": f"{dng.name} not found (fetch it once with benchmarks/real_sensor.py)"}
    ratios = tuple(check.ratios or sensor_check.RATIOS)
    scene = sensor_check.darkened_example(dng, ratios=ratios, bursts=check.bursts, seed=check.seed,
                                          crop=check.crop or None)
    keras_report = evaluate(model, scenes=scenes_from_examples([scene]), output=out / "real_sensor",
                            progress=False, baselines=("bm3d",))
    file_head, predict = tflite_predictor(int8, static=False)
    int8_report = evaluate(None, scenes=scenes_from_examples([scene]), output=None, progress=False,
                           head=file_head, predictor=predict)
    results = _quality_rows({"keras float32": keras_report, "tflite int8": int8_report},
                            {"keras float32": "model.keras", "tflite int8": int8.name})
    return {
        "dng": dng.name,
        "camera": str(scene["camera"]),
        "crop": check.crop,
        "bursts": check.bursts,
        "seed": check.seed,
        "ratios": [float(r) for r in ratios],
        "results": results,
        "per_ratio": keras_report.summary(),
        "picture": _picture(out / REAL_SENSOR_PICTURE, int8, head, scene),
    }


def _dataset_version(dataset: str) -> str | None:
    import tensorflow_datasets as tfds

    import tfds_sid  # noqa: F401  (registers `sid`)

    try:
        return str(tfds.builder(dataset).version)
    except Exception:  # an unknown name is caught earlier, by the evaluation itself
        return None


def _picture(path: Path, tflite: Path, head: str, scene: dict) -> dict:
    """before / after / reference on one frame of `scene` (its middle ratio): the short exposure
    written as a DNG with the scene's CFA, levels and colour, enhanced by `lowlight enhance` with
    the shipped int8 file. The reference is the truth the evaluation scores against."""
    import tempfile

    import numpy as np

    from keras_lowlight import data
    from keras_lowlight.reports.demo import before_after
    from keras_lowlight.evaluation.evaluate import render_raw_pair
    from keras_lowlight.reports.sample_frame import as_text, write_scene_short
    from keras_lowlight.runtime.enhance import enhance

    short = scene["short"]
    with tempfile.TemporaryDirectory() as tmp:
        raw_path, i = write_scene_short(scene, tmp)
        file = as_text(short["file"][i])
        ratio = min(float(short["ratio"][i]), 300.0)  # the evaluation's amplification, not an estimate
        report = enhance([raw_path], Path(tmp) / "out", model=str(tflite), backend="tflite", ratio=ratio,
                         fmt="png16", progress=False)
        if report.failed:
            raise LowlightError(f"before/after picture: {report.failed[str(raw_path)]}")
        import tensorflow as tf  # PIL reads a 16-bit RGB PNG as 8 bits

        png16 = report.written[str(raw_path)][0].read_bytes()
        enhanced = tf.io.decode_png(png16, dtype=tf.uint16).numpy().astype(np.float32) / 65535.0
        pair = next(p for p in data.eval_pairs(scenes=data.scenes_from_examples([scene])) if p.file == file)
        truth = render_raw_pair(pair.target_raw, pair)[1] if head == "raw" else pair.target
        before_after(raw_path, [(f"after: {tflite.name}", enhanced)], truth, ratio, path)
    return {"file": path.name, "frame": file, "ratio": round(ratio, 2),
            "reference": "clean long exposure through the same ISP with the file's colour" if head == "raw"
            else "long exposure rendered by LibRaw"}


BASELINE_TEXT = {
    "raw": ("Both baselines are rendered exactly like the model's output and the truth: the same ISP "
            "(`keras_lowlight.runtime.isp`) with each file's own white balance and colour matrix, no colour fit "
            "(an oracle fit to the truth would also shrink their noise). Amplification-only is the short "
            "frame × ratio; BM3D denoises that packed RAW under the generalised Anscombe transform with "
            "Poisson-Gaussian parameters estimated per frame, exact unbiased inverse (Mäkitalo & Foi 2013)."),
    "srgb": ("Both baselines get an oracle colour rendering, a 3×3 colour fit to each image's own ground "
             "truth (`keras_lowlight.evaluation.baseline`), since this sRGB-head model learned its colour from the "
             "training pairs: the margins are conservative. Amplification-only is the short frame × ratio, "
             "demosaiced bilinearly; BM3D denoises that packed RAW under the generalised Anscombe transform "
             "with Poisson-Gaussian parameters estimated per frame, exact unbiased inverse (Mäkitalo & Foi 2013)."),
}
COLOUR = {"raw": "file colour", "srgb": "oracle colour"}


def _quality_table(results: dict) -> list[str]:
    """One row per file: the model, amplification-only and BM3D side by side, and the margins."""
    bm3d = all("bm3d_psnr" in r for r in results.values())
    head = ("| file | PSNR (dB) | SSIM | ΔE | amplify-only PSNR | SSIM | ΔE |"
            + (" BM3D PSNR | SSIM | ΔE | BM3D s/MP |" if bm3d else "")
            + " vs amplify-only | " + ("vs BM3D |" if bm3d else ""))
    lines = [head, "| --- |" + " ---: |" * (6 + 4 * bm3d + 1 + bm3d)]
    for name, r in results.items():
        mark = "†" if r.get("bm3d_measured_with") else ""
        line = (f"| `{r['file']}` | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['delta_e']:.2f} | "
                f"{r['baseline_psnr']:.2f} | {r['baseline_ssim']:.4f} | {r['baseline_delta_e']:.2f} |")
        if bm3d:
            line += (f" {r['bm3d_psnr']:.2f}{mark} | {r['bm3d_ssim']:.4f}{mark} | {r['bm3d_delta_e']:.2f}{mark} | "
                     f"{r['bm3d_s_per_mp']:.1f}{mark} |")
        line += f" {r['margin_psnr_vs_amplify']:+.2f} dB, {r['margin_ssim_vs_amplify']:+.3f} SSIM |"
        if bm3d:
            line += f" {r['margin_psnr_vs_bm3d']:+.2f} dB, {r['margin_ssim_vs_bm3d']:+.3f} SSIM |"
        lines.append(line)
    if any(r.get("bm3d_measured_with") for r in results.values()):
        lines += ["", "† BM3D (like amplification-only) does not depend on the model file: measured once, with "
                      "the Keras evaluation, on the same pairs."]
    return lines


def _margins(row: dict) -> str:
    text = (f"**{row['margin_psnr_vs_amplify']:+.2f} dB PSNR, {row['margin_ssim_vs_amplify']:+.3f} SSIM, "
            f"ΔE {row['margin_delta_e_vs_amplify']:+.2f}** over amplification-only")
    if "margin_psnr_vs_bm3d" in row:
        text += (f"; **{row['margin_psnr_vs_bm3d']:+.2f} dB PSNR, {row['margin_ssim_vs_bm3d']:+.3f} SSIM, "
                 f"ΔE {row['margin_delta_e_vs_bm3d']:+.2f}** over BM3D")
    return text


def _validation_lines(validation: dict, steps_per_epoch) -> list[str]:
    if not validation or not validation.get("curve"):
        return [f"- validation curve: none ({(validation or {}).get('note', 'not drawn')})"]
    lines = [f"- validation curve: [`{validation['curve']}`]({validation['curve']}) (from the run's `log.csv`; "
             f"step = (epoch + 1) × {steps_per_epoch})"]
    if "best_val_psnr" in validation:
        gain = validation.get("last_quarter_gain_db")
        lines.append(
            f"- best validation PSNR {validation['best_val_psnr']:.2f} dB at step {validation['best_step']} "
            f"(last logged: {validation['last_val_psnr']:.2f} dB at step {validation['last_step']})"
            + (f"; the last quarter of training (from step {validation['last_quarter_from_step']}) raised the "
               f"best by {gain:+.2f} dB" if gain is not None else ""))
    return lines


def render_card(name: str, config: dict, metrics: dict, command: str | None, report) -> str:
    results = metrics["results"]
    keras_row = results["keras float32"]
    head = metrics.get("head") or config.get("head") or "srgb"
    dataset = config["dataset"]
    synthetic = dataset.startswith("sid/synthetic")
    factor = config.get("decay_factor", 0.1)
    decay = (f"÷{1 / factor:g}" if factor and abs(1 / factor - round(1 / factor)) < 1e-9 else f"×{factor:g}")
    hardware_line = (f"- hardware: {metrics['training_hardware']} (as logged by the run)"
                     if metrics.get("training_hardware") else "- hardware: not recorded by this run")
    extras = ", ".join(f"{k} {config[k]}" for k in ("head", "target", "noise") if config.get(k))
    options = ", ".join(f"{k}={v}" for k, v in (config.get("model_overrides") or {}).items())
    channels = 4 if config["cfa"] == "bayer" else 9
    scale = 2 if config["cfa"] == "bayer" else 3
    output = (f"packed RAW ({channels} channels, rendered to sRGB ×{scale} by `keras_lowlight.runtime.isp` with the "
              "file's colour)" if head == "raw" else f"×{scale} sRGB")
    loss = ("μ-law tone-mapped L1 on the packed RAW (`keras_lowlight.models.losses.ToneMappedL1`)" if head == "raw"
            else "L1 loss on sRGB")
    limit = metrics.get("limit")
    colour = COLOUR.get(head, "oracle colour")
    lines = [
        f"# {name}",
        "",
        f"`{config['preset']}` preset{f' ({options})' if options else ''}, {head} head ({config['cfa']} input, "
        f"{channels}-channel packed RAW → {output}), trained with `model.fit` on `{config['dataset']}`.",
        "",
        "## Files",
        "",
        "| file | bytes |",
        "| --- | ---: |",
        *[f"| `{file}` | {size:,} |" for file, size in metrics["files"].items()],
        "",
        "`training_config.json` is the run's exact configuration; `metrics.json` holds every number below.",
        "",
        "## Training",
        "",
        f"- data: `{dataset}` train split" + (f" ({DATASET_NOTES[dataset]})" if dataset in DATASET_NOTES else ""),
        f"- crop {config['crop']} packed px, batch {config['batch']}, {loss}, Adam, learning rate "
        f"{config['learning_rate']:g} {decay} every {config['decay_every']} {config['decay_unit']}"
        + (f"; {extras}" if extras else ""),
        f"- steps: {metrics['steps']} ({metrics['epochs']} epochs of {config['steps_per_epoch']} steps)",
        f"- wall time: {metrics['training_seconds']:.0f} s" if metrics["training_seconds"] else "- wall time: not recorded",
        hardware_line,
        *_validation_lines(metrics.get("validation"), config["steps_per_epoch"]),
        f"- evaluated (numbers below) on: {metrics['evaluated_on']}",
    ]
    if command:
        lines += ["", "Reproduce:", "", "```bash", command, "```"]
    lines += [
        "",
        f"## Quality on the `{metrics['dataset']}` test split"
        + (f" (version {metrics['dataset_version']})" if metrics.get("dataset_version") else ""),
        "",
        ("Full-resolution, every test pair (protocol `all`)" if limit is None else
         f"Full-resolution, ONLY the first {limit} test pairs (a quick package: not a card to ship)")
        + ", sRGB clipped to [0, 1], data_range 1; ΔE = mean CIEDE2000. " + BASELINE_TEXT.get(head, ""),
        "",
        *_quality_table(results),
        "",
        *([f"int8 files: {metrics['int8_quantization']}.", ""] if metrics.get("int8_quantization") else []),
        f"Margins of the Keras float32 model: {_margins(keras_row)}.",
        "",
        "Per ratio (Keras float32):",
        "",
        report.table(),
        "",
        f"Contact sheet (amplified input ({colour}) | BM3D ({colour}) | model | ground truth): "
        f"`evaluation/contact_sheet.png`; per pair: `evaluation/per_image.csv`.",
        "",
        *_real_sensor_lines(metrics.get("real_sensor") or {}, colour),
        *(["## Pictures", ""] if metrics.get("pictures") else []),
        *[f"- [`{p['file']}`]({p['file']}), {where} frame `{p['frame']}` at ×{p['ratio']:g}: the short exposure "
          f"amplified with a plain ISP | `lowlight enhance --backend tflite` with `model_int8.tflite` | reference "
          f"({p['reference']})" for where, p in (metrics.get("pictures") or {}).items()],
        *([""] if metrics.get("pictures") else []),
        "## Limits",
        "",
        ("Trained on synthetic data only: expect a domain gap on real SID frames (fixed-pattern noise, "
         f"real optics). Retrain with the same command and `--dataset {REAL_DATASET.get(config['cfa'], 'sid/sony')}` "
         "where the data and a GPU are available."
         + (" The X-Trans noise profile is an approximation (no published X-T2 calibration), and no real "
            "X-Trans frame was at hand to check the model on." if config["cfa"] == "xtrans" else "")
         if synthetic else
         f"Trained and evaluated on `{dataset}` only; other sensors need their own training data."),
        "",
    ]
    return "\n".join(lines)


def _camera_of(dng: Path) -> str:
    """The camera named in a RAW file's own metadata (the card says which camera, not a guess)."""
    from keras_lowlight.runtime import raw

    return raw.read_raw(dng).camera


def _real_sensor_lines(sensor: dict, colour: str) -> list[str]:
    if not sensor:
        return []
    if "skipped" in sensor:
        return ["## Real-sensor check", "", f"Not run: {sensor['skipped']}.", ""]
    ratios = "/".join(f"×{r:g}" for r in sensor["ratios"])
    return [
        "## Real-sensor check",
        "",
        f"`{sensor['dng']}` ({sensor['camera']}), central {sensor['crop']}-px crop as the clean long exposure, "
        f"darkened at {ratios} ({sensor['bursts']} frame(s) each, seed {sensor['seed']}) with the calibrated noise "
        "model in the file's own DN scale (`keras_lowlight.data.sensor_check`; Sony a7S II noise fits: a real "
        f"sensor's scene, CFA, levels and colour, not the {sensor['camera']}'s own noise). "
        "Scored like the test split; "
        f"baselines rendered the same way ({colour}).",
        "",
        *_quality_table(sensor["results"]),
        "",
        f"Margins of the Keras float32 model: {_margins(sensor['results']['keras float32'])}. "
        "Per frame and contact sheet: `real_sensor/`.",
        "",
    ]
