"""Packaging a trained run into `saved_models/<name>/` with a model card measured on the spot.

`lowlight package RUN_DIR -o saved_models/mobile_bayer` copies the best `.keras`, converts it to
int8 (calibrated on crops from the training pipeline) and float16 `.tflite`, evaluates all three
on the test split of the run's dataset against the amplification-only baseline, and writes
`MODEL_CARD.md` and `metrics.json` from those measurements and the run's own `config.json` /
`log.csv` / `train_time.json` — no number or fact in a card is typed by hand: the dataset, decay,
training hardware and wall time are what the run recorded while it trained.

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
from pathlib import Path

from keras_lowlight.runtime.errors import LowlightError
from keras_lowlight.training.hardware import hardware

TRAINED_IN = re.compile(r"trained in (\d+(?:\.\d+)?) s")


DATASET_NOTES = {
    "sid/synthetic": "the embedded synthetic set: photographs unprocessed to Sony-like RAW, darkened with the "
                     "calibrated Sony a7S II noise model",
    "sid/synthetic_xtrans": "the embedded synthetic X-Trans set: photographs unprocessed to X-T2-like RAW with an "
                            "approximate noise profile",
    "sid/sony": "SID's Sony a7S II archive (real short / long exposure pairs)",
    "sid/fuji": "SID's Fujifilm X-T2 archive (real short / long exposure pairs)",
}


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
) -> Path:
    """Packages a finished run into `output` (see the module docstring). `dataset`: the one whose
    test split the card reports; default the dataset the run trained on."""
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
        _build(run_dir, staging, out.name, dataset, logs, command, calibration_crops)
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if update_contract:
        contract_lib.write_contract(sorted(shipped.glob("*/*.tflite")))
    return out


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


def _build(run_dir: Path, out: Path, name: str, dataset: str | None, logs: list[str] | None,
           command: str | None, calibration_crops: int) -> None:
    from keras_lowlight.runtime import contract as contract_lib
    from keras_lowlight import data, export
    from keras_lowlight.evaluation.evaluate import evaluate
    from keras_lowlight.runtime.engine import LiteRTEngine, enhance_frame

    config = json.loads((run_dir / "config.json").read_text())
    dataset = dataset or config["dataset"]
    rows = list(csv.DictReader(open(run_dir / "log.csv")))
    # The shipped config names folders relative to a checkout, never this machine's paths.
    shipped_config = {k: (f"runs/{Path(v).name}" if k in ("output", "data_dir", "manual_dir") and v
                          and Path(v).is_absolute() else v) for k, v in config.items()}
    (out / "training_config.json").write_text(json.dumps(shipped_config, indent=2))
    model = export.load_keras_model(run_dir / "best.keras")
    model.save(out / "model.keras")  # loaded without compile: ships the weights, not Adam's moments

    crops = list(data.representative_crops(dataset, "train", count=calibration_crops, crop=64, cfa=config["cfa"]))
    # Without the pad/crop size adapters: static shapes inside, so XNNPACK runs the whole graph;
    # callers pad H, W to `models.input_multiple` (the tiler does, on a multiple of 16).
    files = {
        mode: export.write_atomically(
            out / f"model_{mode}.tflite",
            export.convert(model, mode, representative=crops if mode == "int8" else None, size_adapters=False),
        )
        for mode in ("int8", "float16")
    }
    # One fixed tile shape for runtimes that compile a single shape (LiteRT.js, CompiledModel).
    tile = contract_lib.TILE["size"]
    files[f"int8 {tile}x{tile}"] = export.write_atomically(
        out / f"model_int8_tile{tile}.tflite",
        export.convert(model, "int8", representative=crops, size_adapters=False, static_tile=tile),
    )

    results = {"keras float32": evaluate(model, dataset=dataset, output=out / "evaluation", progress=False)}
    for mode, path in files.items():
        engine = LiteRTEngine(path, num_threads=2)
        static = " " in mode  # the fixed-shape file runs exactly its tile size
        results[f"tflite {mode}"] = evaluate(
            None, dataset=dataset, output=None, progress=False, head=engine.head,  # a RAW head is rendered
            predictor=lambda packed, engine=engine, static=static: enhance_frame(
                engine, packed, tile=tile, overlap=contract_lib.TILE["overlap"], shrink=not static),
        )
    file_of = {"keras float32": "model.keras", **{f"tflite {mode}": path.name for mode, path in files.items()}}
    summary = {name_: {**report.summary()["overall"], "file": file_of[name_]} for name_, report in results.items()}
    _picture(out, files["int8"])
    record = training_record(run_dir)
    seconds = training_seconds(run_dir, [Path(p) for p in logs or []])
    metrics = {
        "dataset": dataset,
        "dataset_version": _dataset_version(dataset),
        "split": "test",
        "protocol": "all",
        "steps": int(float(rows[-1]["epoch"]) + 1) * int(config["steps_per_epoch"]) if rows else None,
        "epochs": len(rows),
        "training_seconds": seconds,
        # As the run logged it while training (train_time.json); None for runs that predate that.
        "training_hardware": record.get("hardware"),
        "evaluated_on": hardware(),
        "results": summary,
        "files": {p.name: p.stat().st_size for p in [out / "model.keras", *files.values()]},
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "MODEL_CARD.md").write_text(render_card(name, config, metrics, command, results["keras float32"]))


def _dataset_version(dataset: str) -> str | None:
    import tensorflow_datasets as tfds

    import tfds_sid  # noqa: F401  (registers `sid`)

    try:
        return str(tfds.builder(dataset).version)
    except Exception:  # an unknown name is caught earlier, by the evaluation itself
        return None


def _picture(out: Path, tflite: Path) -> Path:
    """before / after / reference on a synthetic test frame, enhanced by the shipped int8 file."""
    import tempfile

    import numpy as np

    from keras_lowlight.reports.demo import before_after, write_sample_raw
    from keras_lowlight.runtime.enhance import amplification_ratio, enhance
    from keras_lowlight.runtime.raw import read_raw

    with tempfile.TemporaryDirectory() as tmp:
        raw_path, truth = write_sample_raw(Path(tmp))
        report = enhance([raw_path], Path(tmp) / "out", model=str(tflite), backend="tflite", fmt="png16",
                         progress=False)
        import tensorflow as tf

        png16 = report.written[str(raw_path)][0]
        enhanced = tf.io.decode_png(png16.read_bytes(), dtype=tf.uint16).numpy().astype(np.float32) / 65535.0
        ratio = amplification_ratio(read_raw(raw_path))
        return before_after(raw_path, [(f"after: {tflite.name}", enhanced)], truth, ratio, out / "before_after.png")


def render_card(name: str, config: dict, metrics: dict, command: str | None, report) -> str:
    keras_row = metrics["results"]["keras float32"]
    dataset = config["dataset"]
    synthetic = dataset.startswith("sid/synthetic")
    factor = config.get("decay_factor", 0.1)
    decay = (f"÷{1 / factor:g}" if factor and abs(1 / factor - round(1 / factor)) < 1e-9 else f"×{factor:g}")
    hardware_line = (f"- hardware: {metrics['training_hardware']} (as logged by the run)"
                     if metrics.get("training_hardware") else "- hardware: not recorded by this run")
    extras = ", ".join(f"{k} {config[k]}" for k in ("head", "target", "noise") if config.get(k))
    margin_psnr = keras_row["psnr"] - keras_row["baseline_psnr"]
    margin_ssim = keras_row["ssim"] - keras_row["baseline_ssim"]
    lines = [
        f"# {name}",
        "",
        f"`{config['preset']}` preset ({config['cfa']} input, {'4' if config['cfa'] == 'bayer' else '9'}-channel "
        f"packed RAW → ×{2 if config['cfa'] == 'bayer' else 3} sRGB), trained with `model.fit` on "
        f"`{config['dataset']}`.",
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
        f"- crop {config['crop']} packed px, batch {config['batch']}, L1 loss, Adam, learning rate "
        f"{config['learning_rate']:g} {decay} every {config['decay_every']} {config['decay_unit']}"
        + (f"; {extras}" if extras else ""),
        f"- steps: {metrics['steps']} ({metrics['epochs']} epochs of {config['steps_per_epoch']} steps)",
        f"- wall time: {metrics['training_seconds']:.0f} s" if metrics["training_seconds"] else "- wall time: not recorded",
        hardware_line,
        f"- evaluated (numbers below) on: {metrics['evaluated_on']}",
    ]
    if command:
        lines += ["", "Reproduce:", "", "```bash", command, "```"]
    lines += [
        "",
        f"## Quality on the `{metrics['dataset']}` test split"
        + (f" (version {metrics['dataset_version']})" if metrics.get("dataset_version") else ""),
        "",
        "Full-resolution, every test pair (protocol `all`), sRGB clipped to [0, 1], data_range 1. The "
        "amplification-only baseline is the short frame × ratio, demosaiced bilinearly and given an oracle "
        "colour fit to each image's own ground truth (`keras_lowlight.evaluation.baseline`), so the margin is conservative.",
        "",
        "| model | PSNR (dB) | SSIM | amplify-only PSNR | amplify-only SSIM |",
        "| --- | ---: | ---: | ---: | ---: |",
        *[f"| {m} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['baseline_psnr']:.2f} | {r['baseline_ssim']:.4f} |"
          for m, r in metrics["results"].items()],
        "",
        f"Margin over amplification-only (Keras float32): **{margin_psnr:+.2f} dB PSNR, {margin_ssim:+.3f} SSIM**.",
        "",
        "Per ratio (Keras float32):",
        "",
        report.table(),
        "",
        "Contact sheet (amplified input with oracle colour | model | ground truth): "
        "`evaluation/contact_sheet.png`; `before_after.png`: a synthetic test frame through "
        "`lowlight enhance --backend tflite` with `model_int8.tflite`.",
        "",
        "## Limits",
        "",
        ("Trained on synthetic data only: expect a domain gap on real SID frames (fixed-pattern noise, "
         "real optics). Retrain with the same command and `--dataset sid/sony` where the data and a GPU are "
         "available." if synthetic else
         f"Trained and evaluated on `{dataset}` only; other sensors need their own training data."),
        "",
    ]
    return "\n".join(lines)
