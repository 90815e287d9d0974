"""`lowlight` command line: a thin shell over the Python API.

Each subcommand is one `_add_<name>` function that declares its arguments and a handler that
imports what it needs lazily, so `lowlight --help` and `lowlight info` start without TensorFlow.
Any `LowlightError` (bad input a user can fix) becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence

from keras_lowlight.cli import args as A
from keras_lowlight.runtime.errors import LowlightError

Handler = Callable[[argparse.Namespace], int]


def _add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="print camera, CFA, black/white level, size and exposure of RAW files")
    p.add_argument("files", nargs="+", help="RAW files (ARW, RAF, DNG, NEF, CR2, …)")

    def run(args: argparse.Namespace) -> int:
        from keras_lowlight.runtime.raw import describe, read_raw

        failed = 0
        for i, path in enumerate(args.files):
            try:
                image = read_raw(path)
            except LowlightError as e:
                print(f"lowlight: error: {e}", file=sys.stderr)
                failed += 1
                continue
            if i:
                print()
            print(describe(image))
        return 2 if failed else 0

    p.set_defaults(handler=run)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole story on the embedded synthetic default")
    p.add_argument("-o", "--output", default="demo_output", help="folder for pictures and tables")
    p.add_argument("--steps", type=A.positive_int(10**7, minimum=4, what="4 epochs"), default=1200,
        help="training steps of the short model.fit")

    def run(args: argparse.Namespace) -> int:
        from keras_lowlight.reports.demo import run_demo

        run_demo(args.output, steps=args.steps)
        return 0

    p.set_defaults(handler=run)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model preset with model.fit (resumable, distributable)")
    p.add_argument("--dataset", default="sid/synthetic",
                   help="TFDS config: sid/synthetic, sid/synthetic_xtrans, sid/sony, sid/fuji")
    p.add_argument("--preset", default="resnet_se_16", help="model preset (see `lowlight models`)")
    p.add_argument("--head", choices=("srgb", "raw"), default="srgb",
                   help="srgb: the paper's RAW→sRGB model; raw: RAW→clean RAW, rendered with the file's colour")
    p.add_argument("--cfa", choices=("bayer", "xtrans"), default=None, help="default: from the dataset")
    p.add_argument("--crop", type=A.positive_int(8192, minimum=8), default=256,
        help="training crop side in packed pixels (paper: 256)")
    p.add_argument("--batch", type=A.positive_int(65536), default=8)
    p.add_argument("--epochs", type=A.positive_int(10**8), default=4000)
    p.add_argument("--steps-per-epoch", type=A.positive_int(10**9), default=None,
        help="default: one crop per training pair")
    p.add_argument("--lr", type=A.positive_float(1.0), default=1e-4, help="initial Adam learning rate")
    p.add_argument("--decay-every", type=A.positive_int(10**9), default=2000,
        help="divide the learning rate by 10 every N units")
    p.add_argument("--decay-unit", choices=("epochs", "steps"), default="epochs")
    p.add_argument("--val-split", default="validation", help="'' to skip validation")
    p.add_argument("--val-crop", type=A.positive_int(8192, minimum=8), default=None,
        help="central validation crop; default full frames")
    p.add_argument("--val-steps", type=A.positive_int(10**9), default=None)
    p.add_argument("--crops-per-pair", type=A.positive_int(10**4), default=1)
    p.add_argument("--noise", choices=("recorded", "synthetic"), default="recorded",
                   help="recorded: the dataset's short frames; synthetic: fresh calibrated noise on the clean "
                        "long exposure every step (ELD's recipe)")
    p.add_argument("--backup-every", type=A.steps_or_epoch, default="epoch",
        help="'epoch' or a number of steps")
    p.add_argument("--strategy", choices=("default", "mirrored", "multi-worker"), default="default")
    p.add_argument("--data-dir", default=None, help="TFDS data_dir")
    p.add_argument("--manual-dir", default=None, help="folder holding Sony.zip / Fuji.zip for sid/sony, sid/fuji")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="model override, e.g. --set filters=32 --set blocks=4")
    p.add_argument("-o", "--output", default="runs/train", help="run folder (resumes if it holds a backup)")
    p.add_argument("--config", default=None, metavar="JSON",
                   help="a training recipe (TrainConfig fields, e.g. configs/mobile_unet_s_bayer.json or a run's "
                        "config.json); options given on the command line override it")

    def run(args: argparse.Namespace) -> int:
        from keras_lowlight.training.train import read_config, train

        # TrainConfig field ← CLI destination (the CLI spells a few differently)
        cli = dict(
            preset=args.preset, head=args.head, dataset=args.dataset, cfa=args.cfa, crop=args.crop, batch=args.batch,
            epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, learning_rate=args.lr,
            decay_every=args.decay_every, decay_unit=args.decay_unit, validation_split=args.val_split or None,
            validation_crop=args.val_crop, validation_steps=args.val_steps, crops_per_pair=args.crops_per_pair,
            backup_every=args.backup_every, strategy=args.strategy, output=args.output,
            data_dir=args.data_dir, manual_dir=args.manual_dir, model_overrides=_parse_overrides(args.set),
            noise=args.noise,
        )
        if args.config:
            dests = {"learning_rate": "lr", "validation_split": "val_split", "validation_crop": "val_crop",
                     "validation_steps": "val_steps", "model_overrides": "set"}
            given = {k for k in cli if getattr(args, dests.get(k, k)) != p.get_default(dests.get(k, k))}
            cli = {**cli, **read_config(args.config), **{k: v for k, v in cli.items() if k in given}}
        result = train(cli.pop("preset"), **cli)
        print(f"trained in {result.seconds:.0f} s; models in {result.output} (best.keras, last.keras), "
              f"log {result.output / 'log.csv'}, TensorBoard: tensorboard --logdir {result.output / 'tensorboard'}")
        return 0

    p.set_defaults(handler=run)


def _parse_overrides(items: list[str]) -> dict:
    import json

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise LowlightError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="full-resolution PSNR/SSIM on a test split, CSV + contact sheet")
    p.add_argument("model", help="a .keras model file")
    p.add_argument("--dataset", default="sid/synthetic")
    p.add_argument("--split", default="test")
    p.add_argument("--protocol", choices=("sid", "maharjan", "all"), default="all",
                   help="sid: burst _00; maharjan: _00 minus scenes 10034/10045/10172; all: every pair minus those")
    p.add_argument("--limit", type=A.positive_int(10**7), default=None, help="evaluate at most N images")
    p.add_argument("--sheet-images", type=A.positive_int(1000), default=4, help="rows in the contact sheet")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--manual-dir", default=None)
    p.add_argument("-o", "--output", default="runs/evaluate")
    p.add_argument("--baseline", action="append", choices=("bm3d",), default=[],
                   help="also score a classical baseline beside amplification-only (bm3d: seconds per image)")

    def run(args: argparse.Namespace) -> int:
        from keras_lowlight.evaluation.evaluate import evaluate

        report = evaluate(args.model, dataset=args.dataset, split=args.split, protocol=args.protocol,
                          output=args.output, sheet_images=args.sheet_images, limit=args.limit,
                          data_dir=args.data_dir, manual_dir=args.manual_dir,
                          baselines=tuple(dict.fromkeys(args.baseline)))
        print(report.table())
        print(f"per-image CSV: {report.csv_path}\ncontact sheet: {report.sheet_path}")
        return 0

    p.set_defaults(handler=run)


def _add_enhance(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("enhance", help="RAW files or folders → 8-bit sRGB PNG (16-bit PNG, TIFF, …: --format)")
    p.add_argument("inputs", nargs="+", help="RAW files (ARW, RAF, DNG, …) or folders of them")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--model", default=None,
                   help="a .keras/.tflite file or a saved_models/ folder name; default: the shipped model per CFA")
    ratio = p.add_mutually_exclusive_group()
    ratio.add_argument("--ratio", type=A.NumberOrWord(("auto",), float, 0.0, 300.0, exclusive_minimum=True,
                                                   what="SID's cap"), default=None,
        help="amplification ratio (capped at 300), or 'auto' (the default unless the file has a SID name, "
             "SSSSS_BB_Es.ARW, which gives 10 s / its exposure): estimated from the frame's own signal level")
    ratio.add_argument("--target-exposure", type=A.positive_float(86400.0, what="seconds"), default=None,
                       help="exposure in seconds to simulate; ratio = target / the file's exposure")
    p.add_argument("--backend", choices=("auto", "tflite", "keras"), default="auto",
                   help="auto (default): LiteRT for a .tflite or the shipped model (no TensorFlow), Keras for .keras")
    p.add_argument("--tile", type=A.positive_int(8192, minimum=16), default=None,
        help="tile side in packed pixels (default: the runtime's)")
    p.add_argument("--format", type=A.formats, default=None, metavar="FORMATS",
                   help="comma-separated outputs: png8, png16, tiff, …; png = png16,png8 (default: png8)")
    p.add_argument("--threads", type=A.positive_int(1024), default=2, help="LiteRT threads")

    def run(args: argparse.Namespace) -> int:
        from keras_lowlight.runtime.enhance import enhance

        def on_error(path: str, message: str) -> None:
            print(f"lowlight: error: {message if path in message else f'{path}: {message}'}", file=sys.stderr)

        report = enhance(args.inputs, args.output, model=args.model, backend=args.backend, ratio=args.ratio,
                         target_exposure=args.target_exposure, tile=args.tile, fmt=args.format,
                         threads=args.threads, on_error=on_error)
        for source, paths in report.written.items():
            print(f"{source} -> {', '.join(str(p) for p in paths)}")
        if report.failed:
            print(f"lowlight: {len(report.failed)} of {len(report.failed) + len(report.written)} files failed",
                  file=sys.stderr)
            return 1
        return 0

    p.set_defaults(handler=run)


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the model presets: parameters and MACs per output megapixel")
    p.add_argument("presets", nargs="*", help="presets to list (default: all)")
    p.add_argument("--cfa", choices=["bayer", "xtrans"], action="append", help="CFA kinds (default: both)")

    def run(args: argparse.Namespace) -> int:
        from keras_lowlight.models import PRESETS, UnknownPresetError
        from keras_lowlight.models.summary import format_table, preset_rows

        for name in args.presets:
            if name not in PRESETS:
                raise UnknownPresetError(name, list(PRESETS))
        print(format_table(preset_rows(args.presets or None, args.cfa or ("bayer", "xtrans"))))
        print("GMAC/out MP: 10⁹ multiply-accumulates per megapixel of sRGB output (counted layer by layer); "
              "multiple: packed H, W multiple that needs no padding inside the model.")
        return 0

    p.set_defaults(handler=run)


def _add_convert(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a .keras model to .tflite (float32/float16/dynamic/int8/int16x8)")
    p.add_argument("model", help="trained Keras model (.keras)")
    p.add_argument("-o", "--output", required=True, help="output .tflite")
    p.add_argument("--mode", default="float32", choices=["float32", "float16", "dynamic", "int8", "int16x8"])
    p.add_argument(
        "--representative", metavar="DATASET",
        help="calibration crops for int8/int16x8 from this TFDS dataset's train split, e.g. sid/synthetic",
    )
    p.add_argument("--calibration-count", type=A.positive_int(10**6), default=200,
        help="number of calibration crops")
    p.add_argument("--calibration-crop", type=A.positive_int(8192, minimum=8), default=64,
        help="calibration crop side in packed pixels")
    p.add_argument(
        "--no-size-adapters", action="store_true",
        help="drop the pad/crop layers: faster on XNNPACK, but H and W must be multiples of the model's "
        "input multiple (the tiler ensures it)",
    )

    def run(args: argparse.Namespace) -> int:
        from keras_lowlight.export import ExportError, convert_file

        representative = None
        if args.mode in ("int8", "int16x8"):
            if not args.representative:
                raise ExportError(f"--mode {args.mode} needs --representative DATASET (e.g. sid/synthetic)")
            from keras_lowlight.data import representative_crops

            def representative():
                return representative_crops(
                    dataset=args.representative, split="train", count=args.calibration_count,
                    crop=args.calibration_crop,
                )

        path = convert_file(
            args.model, args.output, args.mode, representative, args.calibration_count,
            size_adapters=not args.no_size_adapters,
        )
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, {args.mode})")
        return 0

    p.set_defaults(handler=run)


def _add_qat(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("qat", help="quantization-aware fine-tuning of a .keras model, exported as int8 .tflite")
    p.add_argument("model", help="trained Keras model (.keras)")
    p.add_argument("-o", "--output", required=True, help="output int8 .tflite")
    p.add_argument("--data", default="sid/synthetic", help="TFDS dataset for fine-tuning (train split)")
    p.add_argument("--crop", type=A.positive_int(8192, minimum=8), default=128,
        help="training crop side in packed pixels")
    p.add_argument("--batch", type=A.positive_int(65536), default=4)
    p.add_argument("--epochs", type=A.positive_int(10**8), default=1)
    p.add_argument("--steps", type=A.positive_int(10**9), default=100, help="steps per epoch")
    p.add_argument("--learning-rate", type=A.positive_float(1.0), default=1e-5)
    p.add_argument("--weights-out", help="also save the fitted QAT weights (.weights.h5)")
    p.add_argument("--no-size-adapters", action="store_true", help="as for `lowlight convert`")
    p.add_argument("--tile-output", help="also write a fixed (1, T, T, C) int8 model (T: --tile) for runtimes "
                   "that compile one shape (LiteRT.js, Android); needs --no-size-adapters")
    p.add_argument("--tile", type=A.positive_int(8192, minimum=16), default=256, help="side of --tile-output")
    p.add_argument("--noise", choices=("recorded", "synthetic"), default="recorded",
                   help="fine-tune on the recorded pairs or on fresh calibrated noise (as `train --noise`)")

    def run(args: argparse.Namespace) -> int:
        from keras_lowlight.training.qat import run_qat

        path = run_qat(
            args.model, args.output, data=args.data, crop=args.crop, batch=args.batch, epochs=args.epochs,
            steps_per_epoch=args.steps, learning_rate=args.learning_rate, weights_out=args.weights_out,
            size_adapters=not args.no_size_adapters, tile_output=args.tile_output, tile=args.tile,
            noise=args.noise,
        )
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, QAT int8)")
        if args.tile_output:
            print(f"wrote {args.tile_output} (fixed {args.tile}×{args.tile} input)")
        return 0

    p.set_defaults(handler=run)


def _add_quantize_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "quantize-report", help="size, LiteRT latency, PSNR/SSIM and memory of every quantization mode"
    )
    p.add_argument("model", help="trained Keras model (.keras)")
    p.add_argument("-o", "--output", default="quantize_report", help="folder for the .tflite files and report.csv")
    p.add_argument("--data", default="sid/synthetic", help="TFDS dataset (test split held out, train for calibration)")
    p.add_argument("--images", type=A.positive_int(10**5), default=8, help="held-out test images to score")
    p.add_argument("--calibration-count", type=A.positive_int(10**6), default=200)
    p.add_argument("--qat-steps", type=A.count(10**9), default=100,
        help="QAT fine-tuning steps (0: skip QAT)")
    p.add_argument("--threads", type=A.positive_int(1024), default=2, help="LiteRT threads for latency")
    p.add_argument("--tile", type=A.positive_int(8192, minimum=16), default=256,
        help="tile side (packed px) for scoring and memory")
    p.add_argument("--overlap", type=A.count(1024), default=32)
    p.add_argument("--no-memory", action="store_true", help="skip the full Sony-frame peak-RSS measurement")
    p.add_argument("--modes", default="float32,float16,dynamic,int8,int16x8", help="comma-separated TFLite modes")

    def run(args: argparse.Namespace) -> int:
        from keras_lowlight.reports.quantize_report import ReportConfig, run_report

        run_report(
            ReportConfig(
                model=args.model, output=args.output, data=args.data, images=args.images,
                calibration_count=args.calibration_count, qat_steps=args.qat_steps, threads=args.threads,
                tile=args.tile, overlap=args.overlap, memory=not args.no_memory,
                modes=tuple(m for m in args.modes.split(",") if m),
            )
        )
        return 0

    p.set_defaults(handler=run)


def _add_package(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("package", help="ship a training run: .keras + int8/float16 .tflite + measured MODEL_CARD.md")
    p.add_argument("run", help="training run folder (holds best.keras, config.json, log.csv)")
    p.add_argument("-o", "--output", required=True, help="e.g. saved_models/mobile_bayer")
    p.add_argument("--dataset", default=None,
                   help="dataset whose test split the card reports (default: the one the run trained on)")
    p.add_argument("--log", action="append", type=A.existing_file, default=[],
        help="stdout log(s) of `lowlight train` (for wall time)")
    p.add_argument("--command", default=None, help="the command that reproduces the run, for the card")
    p.add_argument("--qat-steps", type=A.count(10**7, what="0: post-training quantization only"), default=0,
        help="ship int8 files from quantization-aware fine-tuning of that many steps (PTQ file kept beside)")
    p.add_argument("--qat-noise", choices=("recorded", "synthetic"), default=None,
        help="noise the QAT fine-tune sees (default: the run's own)")
    p.add_argument("--qat-learning-rate", type=A.positive_float(1.0), default=1e-5, help="QAT learning rate")
    p.add_argument("--force", action="store_true", help="replace an existing package in --output")
    p.add_argument("--update-contract", action="store_true",
                   help="rewrite mobile/MODEL_CONTRACT.json for the files under saved_models/ (else left alone)")

    def run(args: argparse.Namespace) -> int:
        from keras_lowlight.reports.model_card import contract_status, package

        out = package(args.run, args.output, dataset=args.dataset, logs=args.log, command=args.command,
                      force=args.force, update_contract=args.update_contract, qat_steps=args.qat_steps,
                      qat_noise=args.qat_noise, qat_learning_rate=args.qat_learning_rate)
        print((out / "MODEL_CARD.md").read_text())
        print("mobile/MODEL_CONTRACT.json: rewritten (--update-contract)" if args.update_contract
              else contract_status(out), file=sys.stderr)
        return 0

    p.set_defaults(handler=run)


def _add_serve_web(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve-web", help="serve the LiteRT.js web client and the shipped models locally")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=A.count(65535, what="0: any free port"), default=8000)

    def run(args: argparse.Namespace) -> int:
        from keras_lowlight.cli.serve_web import main as serve

        serve(args.host, args.port)
        return 0

    p.set_defaults(handler=run)


# Order is the order `lowlight --help` lists them in.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_demo,
    _add_info,
    _add_train,
    _add_evaluate,
    _add_enhance,
    _add_models,
    _add_convert,
    _add_qat,
    _add_quantize_report,
    _add_package,
    _add_serve_web,
]


def build_parser() -> argparse.ArgumentParser:
    from keras_lowlight import __version__

    parser = A.Parser(
        prog="lowlight",
        description="Extreme low-light RAW → sRGB: SID data, ResNet-SE models, TFLite/LiteRT export.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def _pipeline_assertion(error: Exception) -> str | None:
    """The message of one of the input pipeline's own `tf.debugging.assert_*` checks (e.g. a crop
    larger than a frame), which TensorFlow raises from inside tf.data with a page of graph context;
    None for any other error, which keeps its traceback."""
    if type(error).__name__ != "InvalidArgumentError":
        return None
    found = re.search(r"assertion failed: \[([^\]]+)\]", str(error))
    return found.group(1) if found else None


def main(argv: Sequence[str] | None = None) -> int:
    import os

    # TensorFlow's C++ INFO/WARNING lines drown a command's own output; errors still show (the
    # lines it prints regardless are filtered by `native_logs_filtered` below).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)  # TFDS deprecation chatter
    except ImportError:
        pass
    from keras_lowlight.runtime.quiet import native_logs_filtered

    try:
        with native_logs_filtered():
            return int(args.handler(args) or 0)
    except LowlightError as e:
        print(f"lowlight: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        message = _pipeline_assertion(e)
        if message is None:
            raise
        print(f"lowlight: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lowlight: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
