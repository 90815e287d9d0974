"""End-to-end `lowlight enhance` on a full-size RAW: wall time, peak RSS, and where the time goes.

One run measures, side by side on the same machine and the same 24 MP DNG fixture (written with
the project's own `keras_lowlight.runtime.dng.write_dng`, 6000×4000 RGGB, a dark SID-like exposure):

* end to end: `lowlight enhance FILE` in a fresh process (wall time from the parent, peak RSS
  from the child's own rusage via `os.wait4`), for the code BEFORE this work (`--before`, a git
  revision extracted with `git archive`) and AFTER (this checkout), each backend, a few formats;
* a stage breakdown in a fresh process: decode (LibRaw) / pack (normalise, amplify) / model
  (sum of the engine's tile calls) / render (tiling gather + quantisation) / write (encode and
  atomic write), and the cold start: process start → first tile;
* batch: one `lowlight enhance FOLDER` of 10 files vs 10 single-file processes (after), and the
  same folder through the previous batch design (`--pipeline`, a git revision: one 2-thread
  interpreter with reader and writer threads around it).

Each 'after' single-file case and the 'after' LiteRT stage breakdown run `--repeat` times (median
reported, min–max in the CSV), after one discarded warm-up run; 'before' runs once (it is 10×
slower, and its number is not close to any goal).

    python benchmarks/enhance_e2e.py                 # ~6 min on 2 quiet cores
    python benchmarks/enhance_e2e.py --quick         # no 'before' Keras runs (~4 min)

Writes benchmarks/results/enhance_e2e.{md,csv}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import REPO, write_results  # noqa: E402

# main when issue 15 (the fast enhance path) started: the first release's enhance.
DEFAULT_BEFORE = "5859a91"
# the last revision whose batch was a read / model / write pipeline around one 2-thread interpreter
DEFAULT_PIPELINE = "6114c44"
SHIPPED = "saved_models/mobile_bayer"

STAGES = r"""
import json, os, sys, time
# Process start = when the measuring parent spawned this process (psutil's create_time is only
# good to the second: it adds the boot time, which Linux gives in whole seconds).
born = float(os.environ["E2E_SPAWNED_AT"])
t0 = time.perf_counter()
version, path, out_dir, backend = sys.argv[1:5]
import contextlib
from pathlib import Path
from keras_lowlight.runtime import engine as runtime
from keras_lowlight.runtime.raw import read_raw
import keras_lowlight.runtime.enhance as E
imports = time.perf_counter() - t0
model_path = E.resolve_model_path(None, "bayer", backend)
t = time.perf_counter(); engine = runtime.load_engine(model_path, num_threads=2); load = time.perf_counter() - t
first_tile, model_s = [None], [0.0]
run = engine.run
def timed_run(tile):
    if first_tile[0] is None:
        first_tile[0] = time.time() - born
    t = time.perf_counter(); result = run(tile); model_s[0] += time.perf_counter() - t
    return result
engine.run = timed_run
pages = getattr(E, "without_huge_pages", contextlib.nullcontext)()  # as enhance() runs (after only)
pages.__enter__()
t = time.perf_counter(); image = read_raw(path); decode = time.perf_counter() - t
ratio = E.amplification_ratio(image)
t = time.perf_counter()
packed = E.prepare_input(image, ratio) if version == "before" else E.prepare_packed(image, ratio)
pack = time.perf_counter() - t
t = time.perf_counter()
if version == "before":
    srgb = runtime.enhance_frame(engine, packed)
    tiled = time.perf_counter() - t
    t = time.perf_counter(); E.write_outputs(srgb, Path(out_dir), Path(path).stem, "png"); write = time.perf_counter() - t
else:
    from keras_lowlight.runtime import writers
    predictor = E.LoadedModel(model_path.name, "bayer", engine.channels, engine)
    frame = E.render(predictor, packed, writers.DEFAULT_FORMATS, image)
    tiled = time.perf_counter() - t
    t = time.perf_counter(); writers.write_frame(frame, Path(out_dir), Path(path).stem, writers.DEFAULT_FORMATS)
    write = time.perf_counter() - t
print("STAGES " + json.dumps({"imports": imports, "load model": load, "decode": decode, "pack": pack,
      "model": model_s[0], "render": tiled - model_s[0], "write": write, "first tile (cold)": first_tile[0]}))
"""


SCALING = r"""
import json, threading, time, numpy as np
from keras_lowlight.runtime import engine as runtime
from keras_lowlight.runtime.conventions import DEFAULT_TILE
import keras_lowlight.runtime.enhance as E
path = E.resolve_model_path(None, "bayer", "tflite")
tile = np.random.default_rng(0).random((1, DEFAULT_TILE, DEFAULT_TILE, 4), dtype=np.float32)
def rate(engines, tiles):
    for e in engines:
        e.run(tile)  # allocation and first-call costs kept out
    def work(e):
        for _ in range(tiles):
            e.run(tile)
    threads = [threading.Thread(target=work, args=(e,)) for e in engines]
    t = time.perf_counter()
    [th.start() for th in threads]; [th.join() for th in threads]
    return len(engines) * tiles / (time.perf_counter() - t)
one = rate([runtime.load_engine(path, num_threads=1)], 12)
two_threads = rate([runtime.load_engine(path, num_threads=2)], 24)
two_lanes = rate([runtime.load_engine(path, num_threads=1) for _ in range(2)], 12)
print("SCALING " + json.dumps({"1 interpreter, 1 thread": one, "1 interpreter, 2 threads": two_threads,
                               "2 interpreters, 1 thread each": two_lanes}))
"""


def write_fixture(path: Path, seed: int = 0) -> Path:
    """A 24 MP Bayer DNG: a smooth scene at a SID-like short exposure (black 512, ~60 e- peak)."""
    from keras_lowlight.runtime.dng import write_dng

    rng = np.random.default_rng(seed)
    h, w = 4000, 6000
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    scene = 0.5 + 0.4 * np.sin(x / 400.0 + seed) * np.cos(y / 300.0)
    mosaic = np.clip(512 + rng.poisson(scene * 60) + rng.normal(0, 3, (h, w)), 0, 16383).astype(np.uint16)
    return write_dng(path, mosaic, "RGGB", exposure_time=0.04)


def extract_revision(revision: str, into: Path) -> Path:
    """The package as it was at `revision` (git archive), so 'before' runs in the same process setup."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "keras_lowlight"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


ISOLATE = r"""
import os, resource, subprocess, sys, time
os.environ["E2E_SPAWNED_AT"] = repr(time.time())
start = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True)
wall = time.perf_counter() - start
sys.stdout.buffer.write(p.stdout)
sys.stderr.buffer.write(p.stderr)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"MEASURED {wall} {usage.ru_maxrss / 1024} {usage.ru_utime + usage.ru_stime}")
sys.exit(p.returncode)
"""


def isolated(argv: list[str], pythonpath: Path, cwd: Path) -> tuple[float, float, float, str]:
    """Runs argv in a fresh process through a tiny parent whose RUSAGE_CHILDREN is that one child."""
    # The shipped models of this checkout, whichever revision's code runs (an extracted one has none).
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "LOWLIGHT_MODELS": str(REPO / "saved_models")}
    p = subprocess.run([sys.executable, "-c", ISOLATE, *argv], cwd=cwd, env=env, capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"{argv} failed:\n{p.stderr.decode()[-3000:]}")
    out = p.stdout.decode()
    line = next(line for line in out.splitlines() if line.startswith("MEASURED "))
    _, wall, rss, cpu = line.split()
    return float(wall), float(rss), float(cpu), out


def _median_row(runs: list[tuple[float, float, float]]) -> dict:
    """Median wall / CPU / RSS of repeated runs, with the wall range (min–max) for the CSV."""
    walls, rss, cpus = zip(*runs)
    return {"wall_s": round(float(np.median(walls)), 2), "cpu_s": round(float(np.median(cpus)), 2),
            "peak_rss_mb": round(float(np.median(rss))), "runs": len(runs),
            "wall_min_s": round(min(walls), 2), "wall_max_s": round(max(walls), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="git revision of the 'before' code")
    parser.add_argument("--pipeline", default=DEFAULT_PIPELINE,
                        help="git revision of the previous batch design, run on the same folder")
    parser.add_argument("--batch", type=int, default=10, help="files in the batch comparison")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each 'after' single-file case (median)")
    parser.add_argument("--quick", action="store_true", help="skip the 'before' Keras runs")
    args = parser.parse_args()
    batch = args.batch
    python = sys.executable
    rows: list[dict] = []
    cli_code = "import sys; from keras_lowlight.cli import main; sys.exit(main(sys.argv[1:]))"
    with tempfile.TemporaryDirectory(prefix="enhance-e2e-") as tmp:
        tmp = Path(tmp)
        before_code = extract_revision(args.before, (tmp / "before").resolve())
        (before_code / "saved_models").symlink_to(REPO / "saved_models")  # the same shipped models
        pipeline_code = extract_revision(args.pipeline, (tmp / "pipeline").resolve())
        (pipeline_code / "saved_models").symlink_to(REPO / "saved_models")
        after_code = REPO
        fixture = write_fixture(tmp / "00001_00_0.04s.ARW")
        megapixels = 24.0
        runs_done = [0]

        def cli(code: Path, *extra: str) -> list[str]:
            runs_done[0] += 1
            return [python, "-c", cli_code, "enhance", str(fixture), "-o", str(tmp / "out" / f"{runs_done[0]}"), *extra]

        isolated(cli(after_code), after_code, tmp)  # warm-up, discarded: file cache, first-touch pages
        cases = [
            ("before", "tflite int8", "png16+png8 (its default)", before_code, ["--backend", "tflite"]),
            ("after", "tflite int8 (default)", "png8 (default)", after_code, []),
            ("after", "tflite int8", "png16+png8 (--format png)", after_code, ["--format", "png"]),
            ("after", "tflite int8", "tiff", after_code, ["--format", "tiff"]),
            ("after", "keras float32", "png8 (default)", after_code, ["--backend", "keras"]),
        ]
        if not args.quick:
            cases.insert(1, ("before", "keras float32 (its default)", "png16+png8 (its default)", before_code, []))
        for version, backend, formats, code, extra in cases:
            repeat = args.repeat if version == "after" and not backend.startswith("keras") else 1
            runs = [isolated(cli(code, *extra), code, tmp)[:3] for _ in range(repeat)]
            rows.append({"kind": "single file", "version": version, "backend": backend, "formats": formats,
                         "files": 1, **_median_row(runs)})
            rows[-1]["mp_per_s"] = round(megapixels / rows[-1]["wall_s"], 2)
            print(rows[-1], flush=True)

        stage_rows = []
        stage_cases = [("before", before_code, "tflite"), ("after", after_code, "tflite"), ("after", after_code, "keras")]
        if not args.quick:
            stage_cases.insert(1, ("before", before_code, "keras"))
        for version, code, backend in stage_cases:
            repeat = args.repeat if (version, backend) == ("after", "tflite") else 1
            measured = []
            for i in range(repeat):
                out_dir = tmp / "stages" / f"{version}-{backend}-{i}"
                out_dir.mkdir(parents=True)
                wall, rss, cpu, out = isolated([python, "-c", STAGES, version, str(fixture), str(out_dir), backend],
                                               code, tmp)
                stages = json.loads(next(l for l in out.splitlines() if l.startswith("STAGES "))[7:])
                measured.append({**stages, "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss})
            median = {k: float(np.median([m[k] for m in measured])) for k in measured[0]}
            stage_rows.append({"version": version, "backend": backend, "runs": repeat,
                               **{k: round(v, 2) for k, v in median.items() if k != "peak_rss_mb"},
                               "peak_rss_mb": round(median["peak_rss_mb"])})
            print(stage_rows[-1], flush=True)

        # What two cores give for the model alone (the ceiling of any overlap): tiles/s of the shipped
        # int8 model on 512×512 packed tiles, one thread vs two vs two interpreters side by side.
        _, _, _, out = isolated([python, "-c", SCALING], after_code, tmp)
        scaling = json.loads(next(l for l in out.splitlines() if l.startswith("SCALING "))[8:])
        print(scaling, flush=True)

        folder = tmp / "batch"
        folder.mkdir()
        for i in range(batch):
            shutil.copy(fixture, folder / f"{i:05d}_00_0.04s.ARW")
        singles = singles_cpu = 0.0
        for i in range(batch):
            wall, _, cpu, _ = isolated([python, "-c", cli_code, "enhance", str(folder / f"{i:05d}_00_0.04s.ARW"),
                                        "-o", str(tmp / "single")], after_code, tmp)
            singles += wall
            singles_cpu += cpu
        rows.append({"kind": f"{batch} single-file runs", "version": "after", "backend": "tflite int8 (default)",
                     "formats": "png8 (default)", "files": batch, "wall_s": round(singles, 2),
                     "cpu_s": round(singles_cpu, 2), "peak_rss_mb": "", "runs": 1,
                     "mp_per_s": round(batch * megapixels / singles, 2)})
        for version, code, kind in (("after", after_code, f"one {batch}-file batch (2 lanes)"),
                                    (f"pipeline {args.pipeline}", pipeline_code,
                                     f"one {batch}-file batch (read/model/write pipeline)")):
            batch_wall, batch_rss, batch_cpu, _ = isolated(
                [python, "-c", cli_code, "enhance", str(folder), "-o", str(tmp / f"batch-out-{len(rows)}")], code, tmp)
            rows.append({"kind": kind, "version": version, "backend": "tflite int8 (default)",
                         "formats": "png8 (default)", "files": batch, "wall_s": round(batch_wall, 2),
                         "cpu_s": round(batch_cpu, 2), "peak_rss_mb": round(batch_rss), "runs": 1,
                         "mp_per_s": round(batch * megapixels / batch_wall, 2)})
        print(rows[-3:], flush=True)

    def find(version, backend_prefix, formats_prefix):
        return next(r for r in rows if r["kind"] == "single file" and r["version"] == version
                    and r["backend"].startswith(backend_prefix) and r["formats"].startswith(formats_prefix))

    before, after = find("before", "tflite", "png16+png8"), find("after", "tflite int8 (default)", "png8")
    after_both = find("after", "tflite", "png16+png8")
    singles_row, lanes_row, pipeline_row = rows[-3], rows[-2], rows[-1]
    after_stages = next(r for r in stage_rows if r["version"] == "after" and r["backend"] == "tflite")
    stage_total = sum(after_stages[k] for k in ("decode", "pack", "model", "render", "write"))
    ratios = {
        "end-to-end speed-up, tflite int8, each version's default command (before wall / after wall)":
            before["wall_s"] / after["wall_s"],
        "end-to-end speed-up, tflite int8, the same two PNGs (before wall / after --format png wall)":
            before["wall_s"] / after_both["wall_s"],
        "peak RSS ratio, tflite int8, default commands (before / after)": before["peak_rss_mb"] / after["peak_rss_mb"],
        f"batch throughput / {batch} single runs (wall), 2 lanes": lanes_row["mp_per_s"] / singles_row["mp_per_s"],
        f"batch throughput / {batch} single runs (wall), previous pipeline": pipeline_row["mp_per_s"] / singles_row["mp_per_s"],
        f"batch CPU saving, 2 lanes: {batch} single runs' CPU s / batch CPU s": singles_row["cpu_s"] / lanes_row["cpu_s"],
        "CPU-time ratio, tflite int8, default commands (before / after)": before["cpu_s"] / after["cpu_s"],
        "model share of the staged time, after tflite (model / decode+pack+model+render+write)": after_stages["model"] / stage_total,
    }
    one_thread = scaling["1 interpreter, 1 thread"]
    ratios["model alone on 2 cores: 2 threads / 1 thread (tiles/s)"] = scaling["1 interpreter, 2 threads"] / one_thread
    ratios["model alone on 2 cores: 2 one-thread interpreters / 1 (tiles/s)"] = (
        scaling["2 interpreters, 1 thread each"] / one_thread)
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}")
    stage_keys = [k for k in stage_rows[0] if k not in ("version", "backend")]
    md = ["| kind | version | backend | formats | files | runs | wall s (median) | CPU s | peak RSS MB | MP/s |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    md += [f"| {r['kind']} | {r['version']} | {r['backend']} | {r['formats']} | {r['files']} | {r['runs']} | "
           f"{r['wall_s']} | {r['cpu_s']} | {r['peak_rss_mb']} | {r['mp_per_s']} |" for r in rows]
    md += ["", "Stages (fresh processes, seconds, median of `runs`; model = sum of tile calls; "
           "first tile = process start → first model call):", "",
           "| version | backend | " + " | ".join(stage_keys) + " |", "|---|---|" + "---|" * len(stage_keys)]
    md += [f"| {r['version']} | {r['backend']} | " + " | ".join(str(r[k]) for k in stage_keys) + " |" for r in stage_rows]
    md += ["", "Ratios (same run):", ""] + [f"- {name}: **{value:.2f}**" for name, value in ratios.items()]
    md += ["", "The model alone (shipped int8, 512×512 packed tiles, tiles/s): "
           + ", ".join(f"{k} {v:.1f}" for k, v in scaling.items()) + "."]
    csv_rows = ([{**r, "table": "runs"} for r in rows] + [{**r, "table": "stages"} for r in stage_rows]
                + [{"table": "model tiles/s", "kind": k, "mp_per_s": round(v, 2)} for k, v in scaling.items()])
    write_results(
        "enhance_e2e", csv_rows, title="`lowlight enhance` end to end on a 24 MP DNG: before vs after, per backend",
        notes=(f"Fixture: 6000×4000 RGGB DNG written by keras_lowlight.runtime.dng.write_dng (ratio 250 from its 0.04 s "
               f"exposure). Model: the shipped {SHIPPED} (int8 .tflite for tflite, model.keras for keras), 2 LiteRT "
               f"threads. 'before' = git {args.before} (the enhance path when issue 15 started), extracted with git "
               "archive and run with the same Python and packages ('before' quantises inside write_outputs, so its "
               "render column is the tiler's padding/copies only). The default output changed: before, a 16-bit "
               "and an 8-bit PNG; after, one 8-bit PNG (`--format png` writes both, measured too). Wall time "
               "includes interpreter start and imports; peak RSS is the child's ru_maxrss; CPU s = its user + "
               "system time (all threads). 'after' single-file rows: median of `runs` fresh processes, after one "
               "discarded warm-up run (on this VM the first process after a busy spell runs ~1 s slower in page "
               "faults); the CSV has each row's min and max wall. Batch rows: one run each; the previous pipeline "
               f"is git {args.pipeline} run on the same folder with the same formats. Run under a script that "
               "pauses the project's background training and gives this benchmark's process group scheduling "
               "priority over the other (niced) work on the shared 2-core machine."),
        markdown="\n".join(md),
    )


if __name__ == "__main__":
    main()
