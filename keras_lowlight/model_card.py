"""Packaging a trained run into `saved_models/<name>/` with a model card measured on the spot.

`lowlight package RUN_DIR -o saved_models/mobile_bayer` copies the best `.keras`, converts it to
int8 (calibrated on crops from the training pipeline) and float16 `.tflite`, evaluates all three
on the synthetic test split against the amplification-only baseline, and writes `MODEL_CARD.md`
and `metrics.json` from those measurements and the run's own `config.json` / `log.csv` — no
number in a card is typed by hand.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import re
from pathlib import Path

from keras_lowlight.errors import LowlightError

TRAINED_IN = re.compile(r"trained in (\d+(?:\.\d+)?) s")


def hardware() -> str:
    """CPU model and core count (or the GPU TensorFlow sees) of this machine."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return ", ".join(tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus)
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, no GPU"


def training_seconds(run_dir: Path, logs: list[Path]) -> float | None:
    """Wall time of the run: `train_time.json` if the run wrote one, else the CLI's own
    `trained in N s` lines in the given stdout logs (summed over resumed segments)."""
    timing = run_dir / "train_time.json"
    if timing.exists():
        return float(json.loads(timing.read_text())["seconds"])
    total, found = 0.0, False
    for log in logs:
        for match in TRAINED_IN.finditer(Path(log).read_text(errors="replace")):
            total += float(match.group(1))
            found = True
    return total if found else None


def package(
    run_dir: str | os.PathLike,
    output: str | os.PathLike,
    dataset: str = "sid/synthetic",
    logs: list[str] | None = None,
    command: str | None = None,
    calibration_crops: int = 200,
) -> Path:
    from keras_lowlight import contract as contract_lib
    from keras_lowlight import data, export
    from keras_lowlight.evaluate import evaluate
    from keras_lowlight.runtime import LiteRTEngine, enhance_frame

    run_dir, out = Path(run_dir), Path(output)
    best = run_dir / "best.keras"
    if not best.exists():
        raise LowlightError(f"{run_dir}: no best.keras (not a finished training run)")
    config = json.loads((run_dir / "config.json").read_text())
    rows = list(csv.DictReader(open(run_dir / "log.csv")))
    out.mkdir(parents=True, exist_ok=True)
    # The shipped config names folders relative to a checkout, never this machine's paths.
    shipped_config = {k: (f"runs/{Path(v).name}" if k in ("output", "data_dir", "manual_dir") and v
                          and Path(v).is_absolute() else v) for k, v in config.items()}
    (out / "training_config.json").write_text(json.dumps(shipped_config, indent=2))
    model = export.load_keras_model(best)
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
    summary = {name: report.summary()["overall"] for name, report in results.items()}
    _picture(out, files["int8"])
    shipped = contract_lib.REPO / "saved_models"
    if out.resolve().parent == shipped:  # shipping into this checkout: keep the phone contract in step
        contract_lib.write_contract(sorted(shipped.glob("*/*.tflite")))
    seconds = training_seconds(run_dir, [Path(p) for p in logs or []])
    metrics = {
        "dataset": dataset,
        "split": "test",
        "protocol": "all",
        "steps": int(float(rows[-1]["epoch"]) + 1) * int(config["steps_per_epoch"]) if rows else None,
        "epochs": len(rows),
        "training_seconds": seconds,
        "hardware": hardware(),
        "results": summary,
        "files": {p.name: p.stat().st_size for p in [out / "model.keras", *files.values()]},
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "MODEL_CARD.md").write_text(render_card(out.name, config, metrics, command, results["keras float32"]))
    return out


def _picture(out: Path, tflite: Path) -> Path:
    """before / after / reference on a synthetic test frame, enhanced by the shipped int8 file."""
    import tempfile

    import numpy as np

    from keras_lowlight.demo import before_after, write_sample_raw
    from keras_lowlight.enhance import amplification_ratio, enhance
    from keras_lowlight.raw import read_raw

    with tempfile.TemporaryDirectory() as tmp:
        raw_path, truth = write_sample_raw(Path(tmp))
        report = enhance([raw_path], Path(tmp) / "out", model=str(tflite), backend="tflite", progress=False)
        import tensorflow as tf

        png16 = report.written[str(raw_path)][0]
        enhanced = tf.io.decode_png(png16.read_bytes(), dtype=tf.uint16).numpy().astype(np.float32) / 65535.0
        ratio = amplification_ratio(read_raw(raw_path))
        return before_after(raw_path, enhanced, truth, ratio, out / "before_after.png")


def render_card(name: str, config: dict, metrics: dict, command: str | None, report) -> str:
    keras_row = metrics["results"]["keras float32"]
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
        f"- data: `{config['dataset']}` train split (the embedded synthetic set: scikit-image photographs "
        "unprocessed to Sony-like RAW, darkened ×100/×250/×300 with the calibrated a7S II noise model; no real "
        "SID data was available where this model was trained)",
        f"- crop {config['crop']} packed px, batch {config['batch']}, L1 loss, Adam, learning rate "
        f"{config['learning_rate']:g} ÷10 every {config['decay_every']} {config['decay_unit']}",
        f"- steps: {metrics['steps']} ({metrics['epochs']} epochs of {config['steps_per_epoch']} steps)",
        f"- wall time: {metrics['training_seconds']:.0f} s" if metrics["training_seconds"] else "- wall time: not recorded",
        f"- hardware: {metrics['hardware']}",
    ]
    if command:
        lines += ["", "Reproduce:", "", "```bash", command, "```"]
    lines += [
        "",
        "## Quality on the synthetic test split",
        "",
        "Full-resolution, every test pair (protocol `all`), sRGB clipped to [0, 1], data_range 1. The "
        "amplification-only baseline is the short frame × ratio, demosaiced bilinearly and given an oracle "
        "colour fit to each image's own ground truth (`keras_lowlight.baseline`), so the margin is conservative.",
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
        "Trained on synthetic data only: expect a domain gap on real SID frames (fixed-pattern noise, "
        "real optics). Retrain on `sid/sony` with the same command and `--dataset sid/sony` where the data "
        "and a GPU are available.",
        "",
    ]
    return "\n".join(lines)
