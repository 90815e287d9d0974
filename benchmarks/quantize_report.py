"""Quantization report: every export mode of one model, measured side by side in one run.

    python benchmarks/quantize_report.py MODEL.keras -o out/            # real data (sid/synthetic)
    python benchmarks/quantize_report.py --preset mobile --train-steps 200 -o out/

With `--preset`, a model is first trained for `--train-steps` on the same data (a short run:
the point is a model whose weights are not random, so quantization error is realistic).
Prints a Markdown table and writes `report.csv` / `report.md` into the output folder; with
`--results-name NAME` also `benchmarks/results/NAME.{md,csv}` with the exact command, versions
and machine (benchmarks/_results.py) — the form the README may quote.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_results  # noqa: E402


def train_preset(preset: str, cfa: str, steps: int, data: str, crop: int, batch: int, out: Path) -> Path:
    import keras

    from keras_lowlight import models
    from keras_lowlight.reports.quantize_report import synthetic_training_set

    channels = models.cfa_io(cfa)[0]
    model = models.get(preset, cfa=cfa)
    if data == "random":
        dataset = synthetic_training_set(channels, crop, batch)
    else:
        from keras_lowlight.data import make_dataset

        dataset = make_dataset(dataset=data, split="train", cfa=cfa, crop=crop, batch=batch, training=True)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mean_absolute_error")
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=2)
    path = out / f"{preset}_{cfa}_{steps}steps.keras"
    out.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", help="trained .keras model (or use --preset)")
    parser.add_argument("--preset", help="train this preset briefly first (e.g. mobile, tiny, resnet_se_16)")
    parser.add_argument("--cfa", default="bayer", choices=["bayer", "xtrans"])
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--train-crop", type=int, default=64)
    parser.add_argument("--train-batch", type=int, default=8)
    parser.add_argument("-o", "--output", default="quantize_report")
    parser.add_argument("--data", default="sid/synthetic", help="TFDS dataset, or 'random' for dev data")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--calibration-count", type=int, default=200)
    parser.add_argument("--qat-steps", type=int, default=100)
    parser.add_argument("--qat-learning-rate", type=float, default=1e-5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latency-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--results-name", help="also write benchmarks/results/<NAME>.{md,csv}")
    parser.add_argument("--modes", default="float32,float16,dynamic,int8,int16x8",
                        help="comma-separated TFLite modes (int16x8 runs on reference kernels: slow)")
    args = parser.parse_args(argv)

    from keras_lowlight.runtime.errors import LowlightError
    from keras_lowlight.reports.quantize_report import ReportConfig, run_report

    try:
        out = Path(args.output)
        model = args.model
        if args.preset:
            model = str(train_preset(args.preset, args.cfa, args.train_steps, args.data, args.train_crop,
                                     args.train_batch, out))
        if not model:
            parser.error("give a MODEL.keras or --preset")
        run_report(ReportConfig(
            model=model, output=str(out), data=args.data, images=args.images,
            calibration_count=args.calibration_count, qat_steps=args.qat_steps,
            qat_learning_rate=args.qat_learning_rate, threads=args.threads, latency_size=args.latency_size,
            latency_repeats=args.repeats, tile=args.tile, overlap=args.overlap, memory=not args.no_memory,
            modes=tuple(m for m in args.modes.split(",") if m),
        ))
    except LowlightError as e:
        print(f"quantize_report: error: {e}", file=sys.stderr)
        return 2
    if args.results_name:
        with open(out / "report.csv") as f:
            rows = list(csv.DictReader(f))
        report_md = out / "report.md"
        write_results(args.results_name, rows, title=f"Quantization report: {Path(model).name}",
                      markdown=report_md.read_text() if report_md.exists() else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
