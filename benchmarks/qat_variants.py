"""Quantization-aware fine-tuning recipes for a shipped model, scored side by side on validation.

    python benchmarks/qat_variants.py [--model saved_models/mobile_bayer --steps 3000
                                       --variants recorded:1e-5 synthetic:5e-5 --split validation]

Why: the shipped Bayer model's int8 file trails its float model by more than issue 14's 0.15 dB,
and which QAT recipe closes that gap (the noise it fine-tunes on, the learning rate) should be
chosen by measurement on the validation split, not on the test split the card reports.

Each variant is one `lowlight qat` run from the folder's `model.keras`, with the packager's own
command line (`keras_lowlight.reports.model_card.qat_command`: same crop, batch and fixed-tile-free
export) and only the noise and learning rate changed, in a child process (tfmot switches
`tf.keras` process-wide). Runs land in `--runs` and are reused when present, so an interrupted
benchmark resumes. Beside the variants, on the same pairs: the float `model.keras`, the folder's
shipped int8 files (`model_int8.tflite` = the packager's QAT recipe, `model_int8_ptq.tflite`),
amplification-only and BM3D (`lowlight evaluate --baseline bm3d`'s; LOWLIGHT_BM3D_CACHE reuses it).
Each `.tflite` runs through the shipped tiler with LiteRT, 2 threads.
Writes `benchmarks/results/qat_variants_<folder>.{md,csv}`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import markdown_table, write_results  # noqa: E402


def parse_variant(text: str) -> tuple[str, float]:
    """'recorded:1e-5' → ('recorded', 1e-05)."""
    noise, _, rate = text.partition(":")
    try:
        value = float(rate)
    except ValueError:
        value = None
    if noise not in ("recorded", "synthetic") or value is None:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NOISE:LEARNING_RATE, NOISE recorded or synthetic")
    return noise, value


def fine_tune(folder: Path, config: dict, noise: str, rate: float, steps: int,
              runs: Path) -> tuple[Path, float | None]:
    """One QAT run (reused if its file exists). Returns the int8 file and the seconds it took."""
    from keras_lowlight.reports.model_card import qat_command, rate_text

    output = runs / f"{folder.name}_{noise}_lr{rate_text(rate)}_{steps}steps.tflite"
    if output.exists():
        return output, None
    runs.mkdir(parents=True, exist_ok=True)
    command = qat_command(folder / "model.keras", output, dataset=config["dataset"], cfa=config["cfa"],
                          noise=noise, steps=steps, learning_rate=rate)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return output, time.perf_counter() - start


def score(label: str, report, **extra) -> dict:
    overall = report.summary()["overall"]
    return {"file": label, "images": overall["count"], "psnr": overall["psnr"], "ssim": overall["ssim"],
            "delta_e": overall["delta_e"], **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="saved_models/mobile_bayer", help="a packaged model folder")
    parser.add_argument("--steps", type=int, default=3000, help="QAT steps per variant (the packager's: 3000)")
    parser.add_argument("--variants", nargs="+", type=parse_variant,
                        default=[("recorded", 1e-5), ("synthetic", 5e-5), ("recorded", 5e-5)])
    parser.add_argument("--split", default="validation")
    parser.add_argument("--limit", type=int, default=None, help="score at most N pairs")
    parser.add_argument("--runs", default="runs/qat_variants")
    args = parser.parse_args()

    from keras_lowlight.export import load_keras_model
    from keras_lowlight.evaluation.evaluate import evaluate
    from keras_lowlight.reports.model_card import rate_text, tflite_predictor

    folder = Path(args.model)
    config = json.loads((folder / "training_config.json").read_text())
    trained = [(noise, rate, *fine_tune(folder, config, noise, rate, args.steps, Path(args.runs)))
               for noise, rate in args.variants]

    common = dict(dataset=config["dataset"], split=args.split, output=None, progress=True, limit=args.limit)
    keras_report = evaluate(load_keras_model(folder / "model.keras"), baselines=("bm3d",), **common)
    overall = keras_report.summary()["overall"]
    rows = [score("model.keras (float32)", keras_report, recipe="float")]
    rows += [{"file": name, "images": overall["count"], "psnr": overall[f"{key}_psnr"], "ssim": overall[f"{key}_ssim"],
              "delta_e": overall[f"{key}_delta_e"], "recipe": "baseline"}
             for name, key in (("amplification-only", "baseline"), ("BM3D", "bm3d"))]
    files = [(folder / "model_int8.tflite", "shipped QAT (card's recipe)", None),
             (folder / "model_int8_ptq.tflite", "post-training quantization", None)]
    files += [(path, f"QAT {args.steps} steps, noise {noise}, lr {rate_text(rate)}", seconds)
              for noise, rate, path, seconds in trained]
    for path, recipe, seconds in files:
        if not path.exists():
            continue
        head, predict = tflite_predictor(path)
        report = evaluate(None, head=head, predictor=predict, **common)
        rows.append(score(path.name if path.parent == folder else f"runs/…/{path.name}", report, recipe=recipe,
                          qat_seconds=round(seconds, 1) if seconds else None))
    for row in rows:
        row["vs_float_psnr"] = row["psnr"] - rows[0]["psnr"]
    write_results(
        f"qat_variants_{folder.name}", rows,
        title=f"QAT recipes for {folder.name}, scored on sid {args.split} split",
        notes=(f"Model: `{folder}/model.keras` ({config['preset']}, {config['cfa']}). Each variant: `lowlight qat` with "
               f"the packager's command (crop and batch as packaged), {args.steps} steps, only noise and learning "
               "rate changed; int8 files run through the shipped tiler (LiteRT, 2 threads). PSNR/SSIM/ΔE on sRGB "
               f"rendered with the file's colour, every pair of the {args.split} split (protocol all). "
               "vs_float_psnr: the int8 file minus the float model on the same pairs (goal: > -0.15 dB). "
               "qat_seconds: wall time of that fine-tune (empty: reused from --runs, or not run here)."),
        markdown=markdown_table(rows),
    )
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
