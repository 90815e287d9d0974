"""`lowlight` command line: a thin shell over the Python API.

Each subcommand is one `_add_<name>` function that declares its arguments and a handler that
imports what it needs lazily, so `lowlight --help` and `lowlight info` start without TensorFlow.
Any `LowlightError` (bad input a user can fix) becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from keras_lowlight.errors import LowlightError

Handler = Callable[[argparse.Namespace], int]


def _add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="print camera, CFA, black/white level, size and exposure of RAW files")
    p.add_argument("files", nargs="+", help="RAW files (ARW, RAF, DNG, NEF, CR2, …)")

    def run(args: argparse.Namespace) -> int:
        from keras_lowlight.raw import describe, read_raw

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

    def run(args: argparse.Namespace) -> int:
        from keras_lowlight.demo import run_demo

        run_demo(args.output)
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


# Order is the order `lowlight --help` lists them in.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_demo,
    _add_info,
    _add_models,
]


def build_parser() -> argparse.ArgumentParser:
    from keras_lowlight import __version__

    parser = argparse.ArgumentParser(
        prog="lowlight",
        description="Extreme low-light RAW → sRGB: SID data, ResNet-SE models, TFLite/LiteRT export.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except LowlightError as e:
        print(f"lowlight: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lowlight: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
