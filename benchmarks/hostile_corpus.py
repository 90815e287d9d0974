"""A hostile corpus through the `lowlight` CLI: every case must end cleanly.

Clean means: for a bad input, a non-zero exit, exactly one `lowlight ... error:` line that names
the file (or the option) and says what is wrong, no traceback, no other stray stderr line and no
file written; for an unusual but valid input, exit 0 and a sane result. Each case goes through
`lowlight info`, `lowlight enhance` with both backends and `lowlight evaluate`, where it applies.

    python benchmarks/hostile_corpus.py            # real processes; writes benchmarks/results/hostile_corpus.{md,csv}

tests/test_hostile_corpus.py runs the same corpus in-process (the same `main`, seconds instead
of minutes) and requires 100 % clean.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "saved_models" / "mobile_bayer"
RGB_TFLITE = REPO / "tests" / "data" / "rgb_3channel.tflite"
CANON_CACHE = Path.home() / ".cache" / "keras_lowlight" / "tinydng" / "colorchart.dng"


@dataclass
class Case:
    name: str
    what: str
    expect: str  # "error" or "ok"
    inputs: list[str] = field(default_factory=list)  # RAW inputs (files or folders)
    args: list[str] = field(default_factory=list)  # extra enhance arguments
    commands: tuple[str, ...] = ("info", "enhance-tflite", "enhance-keras")
    needle: str = ""  # what the error line must say
    model: str | None = None  # for model cases: the file given to --model / evaluate


# === building the corpus ===


def _mosaic(shape, black=512, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (black + rng.poisson(60, shape)).astype(np.uint16)


def _dng(path: Path, mosaic=None, **kw) -> Path:
    from keras_lowlight.runtime.dng import write_dng

    return write_dng(path, _mosaic((64, 96)) if mosaic is None else mosaic, kw.pop("cfa", "RGGB"),
                     exposure_time=kw.pop("exposure_time", 0.04), **kw)


def _patch_tag(data: bytes, tag: int, value: int | None = None, count: int | None = None) -> bytes:
    """IFD 0's entry for `tag` with its inline value and/or count replaced (little-endian TIFF)."""
    out = bytearray(data)
    (first,) = struct.unpack_from("<I", data, 4)
    (n,) = struct.unpack_from("<H", data, first)
    for i in range(n):
        at = first + 2 + 12 * i
        if struct.unpack_from("<H", data, at)[0] == tag:
            if count is not None:
                struct.pack_into("<I", out, at + 4, count)
            if value is not None:
                struct.pack_into("<I", out, at + 8, value)
            return bytes(out)
    raise KeyError(tag)


def build_corpus(folder: Path) -> list[Case]:
    """Writes every file of the corpus into `folder`; returns the cases."""
    from keras_lowlight.runtime.packing import XTRANS_REFERENCE

    folder.mkdir(parents=True, exist_ok=True)
    f = lambda name: folder / name  # noqa: E731
    cases: list[Case] = []

    def raw_case(name, what, data_or_path, expect="error", needle="", suffix=".ARW", **kw):
        path = f(f"{name}{suffix}")
        if isinstance(data_or_path, bytes):
            path.write_bytes(data_or_path)
        cases.append(Case(name, what, expect, [str(path)], needle=needle, **kw))

    good = _dng(f("good_00001_00_0.04s.ARW")).read_bytes()
    sony = _dng(f("sony_full.dng"), _mosaic((2848, 4256), seed=3)).read_bytes()
    f("sony_full.dng").unlink()

    # --- truncation: what LibRaw would zero-fill ---
    raw_case("sony_cut_at_4MB", "12 MP Bayer file (a7S II size) cut to its first 4 MB", sony[:4_000_000],
             needle="truncated")
    raw_case("sony_cut_at_90pct", "the same file cut at 90 % of its length", sony[: len(sony) * 9 // 10],
             needle="truncated")
    raw_case("cut_1_byte_short", "small DNG missing its last byte", good[:-1], needle="truncated")
    raw_case("cut_in_ifd", "cut inside the first IFD", good[:60], needle="truncated")
    raw_case("cut_in_header", "only the 8-byte TIFF header", good[:8], needle="truncated")
    if CANON_CACHE.exists():
        canon = CANON_CACHE.read_bytes()
        raw_case("canon_cut_90pct", "real Canon EOS 550D DNG cut at 90 %", canon[: len(canon) * 9 // 10],
                 suffix=".dng", needle="truncated")
    xtrans = _dng(f("x.dng"), _mosaic((60, 60), 1024), cfa=XTRANS_REFERENCE, black_level=1024).read_bytes()
    f("x.dng").unlink()
    raw_case("xtrans_cut", "X-Trans DNG cut 100 bytes short", xtrans[:-100], suffix=".RAF", needle="truncated")

    # --- not RAW at all ---
    raw_case("empty", "zero-byte file", b"", needle="empty file")
    raw_case("random_bytes", "4 kB of random bytes", random.Random(0).randbytes(4096), needle="not a RAW file")
    raw_case("text", "a text file named .ARW", b"these are my holiday notes\n" * 40, needle="not a RAW file")
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buf, format="JPEG")
    raw_case("jpeg_named_dng", "a JPEG named .dng", buf.getvalue(), suffix=".dng")
    buf = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buf, format="PNG")
    raw_case("png_named_arw", "a PNG named .ARW", buf.getvalue(), needle="not a RAW file")
    (f("a_folder.ARW")).mkdir(exist_ok=True)
    cases.append(Case("directory", "a folder named like a RAW file", "error", [str(f("a_folder.ARW"))],
                      commands=("info",), needle="is a directory"))
    cases.append(Case("missing", "a file that does not exist", "error", [str(f("missing.ARW"))],
                      needle="no such file"))
    f("dangling.ARW").symlink_to(f("nowhere.ARW"))
    cases.append(Case("dangling_symlink", "a symlink to nothing", "error", [str(f("dangling.ARW"))],
                      needle="no such file"))

    # --- corrupt structure and tags ---
    raw_case("ifd_outside", "first IFD offset beyond the end of the file",
             good[:4] + struct.pack("<I", 0xFFFFFF00) + good[8:], needle="first IFD")
    raw_case("huge_width", "ImageWidth = 4 294 967 295", _patch_tag(good, 256, value=0xFFFFFFFF))
    raw_case("zero_height", "ImageLength = 0", _patch_tag(good, 257, value=0))
    raw_case("strip_count_huge", "StripByteCounts = 4 GB", _patch_tag(good, 279, value=0xFFFFFFFF),
             needle="truncated")
    raw_case("strip_offset_outside", "StripOffsets beyond the end of the file",
             _patch_tag(good, 273, value=len(good) + 10), needle="truncated")
    raw_case("header_flips", "20 random bytes of the IFD overwritten", _flip(good, 8, 300, 20, seed=5))
    raw_case("white_below_black", "WhiteLevel 100 with BlackLevel 512", _dng_bytes(f, white_level=100),
             needle="white level")
    raw_case("white_balance_zero", "AsShotNeutral with a zero channel",
             _dng_bytes(f, as_shot_neutral=(0.0, 1.0, 0.5)), needle="white balance")
    raw_case("unsupported_cfa", "a 6x6 CFA that is no X-Trans phase",
             _dng_bytes(f, cfa="RGGBRG" * 6, mosaic=_mosaic((36, 36))), needle="unsupported")
    raw_case("too_small", "a 16x16 CFA frame (LibRaw's minimum is 22)", _tiny_tiff())
    zero_rows = _mosaic((96, 64))
    zero_rows[60:] = 0
    raw_case("zero_filled_rows", "bottom 36 of 96 rows exactly zero (a decoder's fill)",
             _dng_bytes(f, mosaic=zero_rows), needle="implausible")
    flat_rows = _mosaic((96, 64))
    flat_rows[10:40] = 4000
    raw_case("constant_rows", "30 rows at one constant value", _dng_bytes(f, mosaic=flat_rows), needle="implausible")
    raw_case("raf_cfa_outside", "RAF header whose CFA block ends past the file", _raf_header(), suffix=".RAF",
             needle="truncated")
    raw_case("cr3_box_outside", "CR3 (ISO-BMFF) whose moov box ends past the file",
             struct.pack(">I4s", 24, b"ftyp") + b"crx " + bytes(12) + struct.pack(">I4s", 100000, b"moov") + bytes(64),
             suffix=".CR3", needle="truncated")

    # --- unusual but valid: must NOT be refused ---
    loop = bytearray(good)
    (first,) = struct.unpack_from("<I", good, 4)
    (n,) = struct.unpack_from("<H", good, first)
    struct.pack_into("<I", loop, first + 2 + 12 * n, first)
    raw_case("ifd_loop", "next-IFD link pointing at itself (valid data)", bytes(loop), expect="ok")
    sky = _mosaic((96, 64))
    sky[:50] = 16383
    raw_case("saturated_rows", "top half saturated at the white level (a blown sky)", _dng_bytes(f, mosaic=sky),
             expect="ok")
    raw_case("data_flips", "64 pixel bytes overwritten (valid structure)", _flip(good, 1024, len(good), 64, seed=6),
             expect="ok")

    # --- arguments (on the good file) ---
    good_path = str(f("good_00001_00_0.04s.ARW"))
    arg_commands = ("enhance-tflite", "enhance-keras")
    for name, args, needle in (
        ("ratio_nan", ["--ratio", "nan"], "argument --ratio"),
        ("ratio_inf", ["--ratio", "inf"], "argument --ratio"),
        ("ratio_negative", ["--ratio", "-5"], "argument --ratio"),
        ("ratio_above_cap", ["--ratio", "1000"], "argument --ratio"),
        ("target_exposure_zero", ["--target-exposure", "0"], "argument --target-exposure"),
        ("tile_zero", ["--tile", "0"], "argument --tile"),
        ("threads_zero", ["--threads", "0"], "argument --threads"),
    ):
        cases.append(Case(name, " ".join(args), "error", [good_path], args, arg_commands, needle))
    blocker = f("output_is_a_file")
    blocker.write_text("x")
    cases.append(Case("output_is_a_file", "-o names an existing file", "error", [good_path],
                      ["-o", str(blocker / "sub")], arg_commands, "cannot write"))

    # --- model files ---
    models = _model_files(folder)
    for name, (path, needle, commands) in models.items():
        cases.append(Case(name, f"--model {Path(path).name}", "error", [str(f("missing_raw.ARW"))],
                          commands=commands, needle=needle, model=path))

    # --- a batch: good and bad files in one folder ---
    batch = f("batch")
    batch.mkdir(exist_ok=True)
    for i in range(2):
        _dng(batch / f"0000{i}_00_0.04s.ARW", _mosaic((64, 96), seed=i))
    (batch / "00008_00_0.04s.ARW").write_bytes(good[: len(good) // 2])
    (batch / "00009_00_0.04s.ARW").write_bytes(b"")
    (batch / "notes.txt").write_text("not a RAW extension: ignored")
    cases.append(Case("batch_good_and_bad", "folder: 2 good, 1 truncated, 1 empty file", "batch", [str(batch)],
                      commands=("enhance-tflite", "enhance-keras")))
    return cases


def _dng_bytes(f, mosaic=None, **kw) -> bytes:
    path = _dng(f("scratch.dng"), mosaic, **kw)
    data = path.read_bytes()
    path.unlink()
    return data


def _flip(data: bytes, start: int, end: int, count: int, seed: int) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(count):
        out[rng.randrange(start, end)] = rng.randrange(256)
    return bytes(out)


def _tiny_tiff() -> bytes:
    """A 16x16 CFA TIFF: LibRaw refuses images under 22 px a side."""
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.full((16, 16), 600, np.uint16) + np.arange(256, dtype=np.uint16).reshape(16, 16),
                     photometric=32803, extratags=[(50706, "B", 4, (1, 4, 0, 0), True), (33421, "H", 2, (2, 2), True),
                                                   (33422, "B", 4, (0, 1, 1, 2), True)])
    return buf.getvalue()


def _raf_header() -> bytes:
    raf = bytearray(b"FUJIFILMCCD-RAW 0201FF383501" + b"X-T2".ljust(32, b"\0") + bytes(200))
    struct.pack_into(">II", raf, 84, 148, 10)
    struct.pack_into(">II", raf, 92, 158, 10)
    struct.pack_into(">II", raf, 100, 168, 10_000_000)
    return bytes(raf)


def _model_files(folder: Path) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """name -> (path, needle, commands). Keras files are built without TensorFlow: a `.keras` is a zip."""
    keras_shipped = SHIPPED / "model.keras"
    out: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    truncated = folder / "truncated.keras"
    truncated.write_bytes(keras_shipped.read_bytes()[: keras_shipped.stat().st_size // 2])
    out["keras_truncated"] = (str(truncated), "not a zip archive", ("enhance-keras", "evaluate"))
    lam = folder / "lambda.keras"
    _lambda_keras(keras_shipped, lam)
    out["keras_with_lambda"] = (str(lam), "safe mode only", ("enhance-keras", "evaluate"))
    rgb = folder / "rgb.keras"
    _rgb_keras(keras_shipped, rgb)
    out["keras_rgb_input"] = (str(rgb), "not a loadable Keras model", ("enhance-keras", "evaluate"))
    text = folder / "notes.keras"
    text.write_text("not a model")
    out["keras_not_a_zip"] = (str(text), "not a zip archive", ("enhance-keras", "evaluate"))
    tfl = (SHIPPED / "model_int8.tflite").read_bytes()
    cut = folder / "truncated.tflite"
    cut.write_bytes(tfl[: len(tfl) // 2])
    out["tflite_truncated"] = (str(cut), "LiteRT cannot load the model", ("enhance-tflite",))
    empty = folder / "empty.tflite"
    empty.write_bytes(b"")
    out["tflite_empty"] = (str(empty), "not a TFLite model", ("enhance-tflite",))
    out["tflite_rgb_input"] = (str(RGB_TFLITE), "input has 3 channels", ("enhance-tflite",))
    out["model_missing"] = (str(folder / "missing.tflite"), "model not found", ("enhance-tflite",))
    return out


def _rewrite_config(source: Path, target: Path, edit: Callable[[dict], None]) -> None:
    import json

    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            zout.writestr(item, data)


def _rgb_keras(source: Path, target: Path) -> None:
    """The shipped model with its input declared 3-channel (weights unchanged: it cannot load
    or it fails the contract; either is one line)."""
    def edit(config):
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "InputLayer":
                shape = layer["config"].get("batch_shape") or layer["config"].get("batch_input_shape")
                shape[-1] = 3
    _rewrite_config(source, target, edit)


def _lambda_keras(source: Path, target: Path) -> None:
    """The shipped model's config with a Lambda layer carrying marshalled Python code."""
    def edit(config):
        layers = config["config"]["layers"]
        first = layers[1]
        first["class_name"] = "Lambda"
        first["module"] = "keras.layers"
        first["registered_name"] = None
        first["config"] = {"name": first["config"]["name"], "trainable": True, "dtype": "float32",
                           "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None,
                                                                               "closure": None}},
                           "arguments": {}}
    _rewrite_config(source, target, edit)


# === running ===


@dataclass
class Result:
    case: str
    what: str
    command: str
    expect: str
    exit_code: int
    message: str
    clean: bool
    why: str = ""


def argv_for(case: Case, command: str, out_dir: Path) -> list[str]:
    if command == "info":
        return ["info", *case.inputs]
    if command == "evaluate":
        return ["evaluate", case.model, "--limit", "1", "-o", str(out_dir)]
    backend = command.split("-")[1]
    argv = ["enhance", *case.inputs, "-o", str(out_dir), "--backend", backend]
    if case.model:
        argv += ["--model", case.model]
    elif backend == "tflite":
        argv += ["--model", str(SHIPPED / "model_int8.tflite")]
    else:
        argv += ["--model", str(SHIPPED / "model.keras")]
    return argv + case.args


def run_in_process(argv: list[str]) -> tuple[int, str, str]:
    from keras_lowlight.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse
            code = e.code if isinstance(e.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def run_subprocess(argv: list[str]) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "keras_lowlight.cli", *argv], capture_output=True, text=True,
                          timeout=600)
    return done.returncode, done.stdout, done.stderr


def _stderr_lines(stderr: str) -> list[str]:
    """stderr split at newlines and carriage returns, minus the progress bar's redraws."""
    return [line for line in re.split(r"[\r\n]", stderr) if line.strip() and not re.match(r"^\s*enhance:", line)]


def judge(case: Case, command: str, code: int, stdout: str, stderr: str, out_dir: Path) -> Result:
    lines = _stderr_lines(stderr)
    errors = [line for line in lines if re.match(r"^lowlight( [\w-]+)?: error: ", line)]
    others = [line for line in lines if line not in errors and not line.startswith("lowlight: ")]
    written = sorted(p.name for p in out_dir.rglob("*") if p.is_file()) if out_dir.exists() else []
    message = errors[0] if len(errors) == 1 else " | ".join(errors)
    problems = []
    if "Traceback" in stderr:
        problems.append("traceback")
    if others:
        problems.append(f"stray stderr: {others[0][:80]!r}")
    if case.expect == "error":
        if code == 0:
            problems.append("exit 0")
        if len(errors) != 1:
            problems.append(f"{len(errors)} error lines")
        elif case.needle and case.needle not in errors[0]:
            problems.append(f"message lacks {case.needle!r}")
        named = [*case.inputs, case.model or ""] if not case.args else [*case.args]
        if errors and not any(name and (name in errors[0] or Path(name).name in errors[0]) for name in named):
            problems.append("the file/option is not named")
        if [w for w in written if not w.startswith(".")]:
            problems.append(f"wrote {written}")
        if any(w.startswith(".") and w.endswith(".tmp") for w in written):
            problems.append("left a temporary file")
    elif case.expect == "ok":
        if code != 0 or errors:
            problems.append(f"exit {code}: {message}")
        if command.startswith("enhance") and len(written) != 1:
            problems.append(f"wrote {written}")
    else:  # batch: every good file written, every bad file named once, non-zero exit
        bad = ["00008_00_0.04s.ARW", "00009_00_0.04s.ARW"]
        expected = sorted(f"0000{i}_00_0.04s{suffix}" for i in range(2) for suffix in (".png",))
        if code == 0:
            problems.append("exit 0")
        if written != expected:
            problems.append(f"wrote {written}")
        if [sum(name in e for e in errors) for name in bad] != [1, 1] or len(errors) != 2:
            problems.append(f"errors {errors}")
        message = f"{len(errors)} error lines ({', '.join(bad)}); wrote {len(written)} files"
    return Result(case.name, case.what, command, case.expect, code, message, not problems, "; ".join(problems))


def run_corpus(folder: Path, runner=run_in_process,
               select: Callable[[Case, str], bool] | None = None) -> list[Result]:
    """Every (case, command) pair, or those `select` accepts."""
    results = []
    for case in build_corpus(folder / "corpus"):
        for command in case.commands:
            if select is not None and not select(case, command):
                continue
            out_dir = folder / "out" / f"{case.name}-{command}"
            shutil.rmtree(out_dir, ignore_errors=True)
            argv = argv_for(case, command, out_dir)
            if "-o" in case.args:  # the case brings its own output path
                argv = argv[: argv.index("-o")] + argv[argv.index("-o") + 2 :]
            code, stdout, stderr = runner(argv)
            results.append(judge(case, command, code, stdout, stderr, out_dir))
    return results


def _portable(text: str, folder: Path) -> str:
    return text.replace(str(folder / "corpus") + "/", "").replace(str(folder / "out") + "/", "out/").replace(
        str(REPO) + "/", "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in-process", action="store_true", help="run `main` in this process (fast)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from _results import write_results

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = run_corpus(folder, run_in_process if args.in_process else run_subprocess)
        rows = [{"case": r.case, "input": r.what, "command": r.command, "expected": r.expect,
                 "exit code": r.exit_code, "message": _portable(r.message, folder),
                 "clean": "yes" if r.clean else f"NO: {r.why}"} for r in results]
    clean = sum(r.clean for r in results)
    cases = len({r.case for r in results})
    summary = f"{cases} cases, {len(results)} runs: {clean} clean ({100 * clean / len(results):.0f} %)"
    print(summary)
    for r in results:
        if not r.clean:
            print(f"NOT CLEAN: {r.case} / {r.command}: {r.why}")
    write_results(
        "hostile_corpus", rows, title="Hostile corpus through the lowlight CLI",
        notes=(f"{summary}. Each run is a fresh `python -m keras_lowlight.cli` process"
               f"{' (here: in-process)' if args.in_process else ''}. Clean: for bad input a non-zero exit, exactly "
               "one error line naming the file or option, no traceback, no stray stderr, nothing written; for valid "
               "input (expected ok) exit 0 and both images written; for the batch every good file written, each bad "
               "one named once, non-zero exit. Models: the shipped mobile_bayer int8 .tflite / .keras."),
    )
    return 0 if clean == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
