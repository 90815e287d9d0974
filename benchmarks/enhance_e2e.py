"""End-to-end `lowlight enhance` on a full-size RAW: wall time, peak RSS, and where the time goes.

One run measures, side by side on the same machine and the same 24 MP DNG fixture (written with
the project's own `keras_lowlight.runtime.dng.write_dng`, 6000×4000 RGGB, a dark SID-like exposure):

* end to end: `lowlight enhance FILE` in a fresh process (wall time from the parent, peak RSS
  from the child's own rusage), for the code BEFORE this work (`--before`, a git revision
  extracted with `git archive`, run with the model IT shipped) and AFTER (this checkout, with the
  model shipped now), each backend, a few formats — and this checkout's code with the model the
  'before' revision shipped, so the wrapper's change is also measured on the same model;
* a stage breakdown in a fresh process: decode (LibRaw) / pack (normalise, amplify) / model
  (sum of the engine's tile calls) / render (tiling gather + quantisation; for a RAW-head model
  also the ISP render of its packed RAW to sRGB integers) / write (encode and atomic write), and
  the cold start: process start → first tile;
* batch: one `lowlight enhance FOLDER` of 10 files vs 10 single-file processes (after), and the
  same folder through the previous batch design (`--pipeline`, a git revision: one 2-thread
  interpreter with reader and writer threads around it) beside this checkout's batch, both with
  the model that revision shipped (it renders a RAW-head output with the slow reference ISP, so
  the model shipped now would measure its renderer, not its batch design).

Each 'after' single-file case and the 'after' LiteRT stage breakdown run `--repeat` times (median
reported, min–max in the CSV), after one discarded warm-up run; 'before' runs once (it is 10×
slower, and its number is not close to any goal).

    python benchmarks/enhance_e2e.py                 # ~6 min on 2 quiet cores
    python benchmarks/enhance_e2e.py --quick         # no 'before' Keras runs (~4 min)
    python benchmarks/enhance_e2e.py --before none   # this checkout only

Every process runs with this interpreter (an absolute path: a relative `sys.executable`, as a
`PATH=.venv/bin:…` shell gives, would not resolve from the temporary working folder) and a
PYTHONPATH naming the tree whose code it runs; an extracted revision needs no venv of its own.

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
MODEL_FOLDER = "saved_models/mobile_bayer"  # what an extracted revision takes besides its code

STAGES = r"""
import json, os, sys, time
# Process start = when the measuring parent spawned this process (psutil's create_time is only
# good to the second: it adds the boot time, which Linux gives in whole seconds).
born = float(os.environ["E2E_SPAWNED_AT"])
t0 = time.perf_counter()
version, path, out_dir, backend = sys.argv[1:5]
import contextlib
from pathlib import Path
if version == "before":  # the flat package of the first release
    from keras_lowlight import runtime
    from keras_lowlight.raw import read_raw
    import keras_lowlight.enhance as E
else:
    from keras_lowlight.runtime import engine as runtime
    from keras_lowlight.runtime.raw import read_raw
    import keras_lowlight.runtime.enhance as E
imports = time.perf_counter() - t0
model_path = E.resolve_model_path(None, "bayer", backend)
t = time.perf_counter(); engine = runtime.load_engine(model_path, num_threads=2); load = time.perf_counter() - t
first_tile, model_s, tiles = [None], [0.0], [0]
run = engine.run
def timed_run(tile):
    if first_tile[0] is None:
        first_tile[0] = time.time() - born
    t = time.perf_counter(); result = run(tile); model_s[0] += time.perf_counter() - t
    tiles[0] += 1
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
    # A RAW-head frame is rendered to sRGB integers when a writer first asks: count it as render.
    for name in writers.DEFAULT_FORMATS:
        if writers.FORMATS[name].bits:
            frame.pixels(writers.FORMATS[name].bits)
    tiled = time.perf_counter() - t
    t = time.perf_counter(); writers.write_frame(frame, Path(out_dir), Path(path).stem, writers.DEFAULT_FORMATS)
    write = time.perf_counter() - t
print("STAGES " + json.dumps({"imports": imports, "load model": load, "decode": decode, "pack": pack,
      "model": model_s[0], "render": tiled - model_s[0], "write": write, "first tile (cold)": first_tile[0],
      "tiles": tiles[0]}))
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


def describe_model(models: Path) -> str:
    """'mobile_unet_s, raw head, model_int8.tflite sha256 1a2b3c4d5e6f' from the shipped folder
    (its training_config.json; an old one names no head: sRGB) — which file was measured."""
    import hashlib

    folder = models / "mobile_bayer"
    config = json.loads((folder / "training_config.json").read_text())
    digest = hashlib.sha256((folder / "model_int8.tflite").read_bytes()).hexdigest()[:12]
    return f"{config['preset']}, {config.get('head', 'srgb')} head, model_int8.tflite sha256 {digest}"


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
    """The package and the shipped Bayer model as they were at `revision` (git archive), so that
    revision runs in the same process setup as this checkout, with the model it shipped."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "keras_lowlight", MODEL_FOLDER],
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


PYTHON = os.path.abspath(sys.executable)  # not resolved: a venv's python is a symlink that must stay one


def isolated(argv: list[str], pythonpath: Path, cwd: Path, models: Path | None = None
             ) -> tuple[float, float, float, str]:
    """Runs argv in a fresh process through a tiny parent whose RUSAGE_CHILDREN is that one child.

    `pythonpath`: the tree whose code runs; `models`: the saved_models folder it uses (default:
    the one in that tree; a revision older than $LOWLIGHT_MODELS reads its own tree's anyway)."""
    models = models or pythonpath / "saved_models"
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "LOWLIGHT_MODELS": str(models)}
    p = subprocess.run([PYTHON, "-c", ISOLATE, *argv], cwd=cwd, env=env, capture_output=True)
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
    parser.add_argument("--before", default=DEFAULT_BEFORE,
                        help="git revision of the 'before' code (run with the model it shipped); 'none' skips it")
    parser.add_argument("--pipeline", default=DEFAULT_PIPELINE,
                        help="git revision of the previous batch design, run on the same folder")
    parser.add_argument("--batch", type=int, default=10, help="files in the batch comparison")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each 'after' single-file case (median)")
    parser.add_argument("--stage-repeat", type=int, default=5,
                        help="runs of the 'after' LiteRT stage breakdown with the shipped model (median)")
    parser.add_argument("--quick", action="store_true", help="skip the 'before' Keras runs")
    args = parser.parse_args()
    batch = args.batch
    python = PYTHON
    with_before = args.before.lower() != "none"
    rows: list[dict] = []
    cli_code = "import sys; from keras_lowlight.cli import main; sys.exit(main(sys.argv[1:]))"
    with tempfile.TemporaryDirectory(prefix="enhance-e2e-") as tmp:
        tmp = Path(tmp)
        before_code = extract_revision(args.before, (tmp / "before").resolve()) if with_before else None
        pipeline_code = extract_revision(args.pipeline, (tmp / "pipeline").resolve())
        after_code = REPO
        current_models = REPO / "saved_models"
        described = {"now": describe_model(current_models), "pipeline": describe_model(pipeline_code / "saved_models")}
        if with_before:
            described["before"] = describe_model(before_code / "saved_models")
        fixture = write_fixture(tmp / "00001_00_0.04s.ARW")
        megapixels = 24.0
        runs_done = [0]

        def cli(code: Path, *extra: str) -> list[str]:
            runs_done[0] += 1
            return [python, "-c", cli_code, "enhance", str(fixture), "-o", str(tmp / "out" / f"{runs_done[0]}"), *extra]

        isolated(cli(after_code), after_code, tmp, current_models)  # warm-up, discarded: file cache, first-touch pages
        # (version, model, backend, formats, code tree, models folder, extra arguments)
        cases = [
            ("after", "shipped now", "tflite int8 (default)", "png8 (default)", after_code, current_models, []),
            ("after", "shipped now", "tflite int8", "png16+png8 (--format png)", after_code, current_models,
             ["--format", "png"]),
            ("after", "shipped now", "tflite int8", "tiff", after_code, current_models, ["--format", "tiff"]),
            ("after", "shipped now", "keras float32", "png8 (default)", after_code, current_models, ["--backend", "keras"]),
        ]
        if with_before:
            old_models = before_code / "saved_models"
            cases[:0] = [("before", f"shipped at {args.before}", "tflite int8", "png16+png8 (its default)", before_code,
                          old_models, ["--backend", "tflite"])]
            if not args.quick:
                cases.insert(1, ("before", f"shipped at {args.before}", "keras float32 (its default)",
                                 "png16+png8 (its default)", before_code, old_models, []))
            cases.append(("after", f"shipped at {args.before}", "tflite int8 (default)", "png8 (default)", after_code,
                          old_models, []))
        for version, model, backend, formats, code, models, extra in cases:
            repeat = args.repeat if version == "after" and not backend.startswith("keras") else 1
            runs = [isolated(cli(code, *extra), code, tmp, models)[:3] for _ in range(repeat)]
            rows.append({"kind": "single file", "version": version, "shipped": model, "backend": backend,
                         "formats": formats, "files": 1, **_median_row(runs)})
            rows[-1]["mp_per_s"] = round(megapixels / rows[-1]["wall_s"], 2)
            print(rows[-1], flush=True)

        stage_rows = []
        stage_cases = [("after", "shipped now", after_code, current_models, "tflite"),
                       ("after", "shipped now", after_code, current_models, "keras")]
        if with_before:
            stage_cases[:0] = [("before", f"shipped at {args.before}", before_code, old_models, "tflite")]
            if not args.quick:
                stage_cases.insert(1, ("before", f"shipped at {args.before}", before_code, old_models, "keras"))
            stage_cases.append(("after", f"shipped at {args.before}", after_code, old_models, "tflite"))
        for version, model, code, models, backend in stage_cases:
            # The row the model-share goal is read from: more runs, so one busy spell moves its median less.
            repeat = args.stage_repeat if (version, model, backend) == ("after", "shipped now", "tflite") else 1
            measured = []
            for i in range(repeat):
                out_dir = tmp / "stages" / f"{version}-{backend}-{len(stage_rows)}-{i}"
                out_dir.mkdir(parents=True)
                wall, rss, cpu, out = isolated([python, "-c", STAGES, version, str(fixture), str(out_dir), backend],
                                               code, tmp, models)
                stages = json.loads(next(l for l in out.splitlines() if l.startswith("STAGES "))[7:])
                measured.append({**stages, "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss})
            median = {k: float(np.median([m[k] for m in measured])) for k in measured[0]}
            stage_rows.append({"version": version, "shipped": model, "backend": backend, "runs": repeat,
                               **{k: round(v, 2) for k, v in median.items() if k != "peak_rss_mb"},
                               "peak_rss_mb": round(median["peak_rss_mb"])})
            print(stage_rows[-1], flush=True)

        # What two cores give for the model alone (the ceiling of any overlap): tiles/s of the shipped
        # int8 model on 512×512 packed tiles, one thread vs two vs two interpreters side by side.
        _, _, _, out = isolated([python, "-c", SCALING], after_code, tmp, current_models)
        scaling = json.loads(next(l for l in out.splitlines() if l.startswith("SCALING "))[8:])
        print(scaling, flush=True)

        folder = tmp / "batch"
        folder.mkdir()
        for i in range(batch):
            shutil.copy(fixture, folder / f"{i:05d}_00_0.04s.ARW")
        singles = singles_cpu = 0.0
        for i in range(batch):
            wall, _, cpu, _ = isolated([python, "-c", cli_code, "enhance", str(folder / f"{i:05d}_00_0.04s.ARW"),
                                        "-o", str(tmp / "single")], after_code, tmp, current_models)
            singles += wall
            singles_cpu += cpu
        rows.append({"kind": f"{batch} single-file runs", "version": "after", "shipped": "shipped now",
                     "backend": "tflite int8 (default)",
                     "formats": "png8 (default)", "files": batch, "wall_s": round(singles, 2),
                     "cpu_s": round(singles_cpu, 2), "peak_rss_mb": "", "runs": 1,
                     "mp_per_s": round(batch * megapixels / singles, 2)})
        pipeline_model = f"shipped at {args.pipeline}"
        for version, code, kind, model, models in (
                ("after", after_code, f"one {batch}-file batch (2 lanes)", "shipped now", current_models),
                ("after", after_code, f"one {batch}-file batch (2 lanes)", pipeline_model, pipeline_code / "saved_models"),
                (f"pipeline {args.pipeline}", pipeline_code, f"one {batch}-file batch (read/model/write pipeline)",
                 pipeline_model, pipeline_code / "saved_models")):
            batch_wall, batch_rss, batch_cpu, _ = isolated(
                [python, "-c", cli_code, "enhance", str(folder), "-o", str(tmp / f"batch-out-{len(rows)}")], code, tmp,
                models)
            rows.append({"kind": kind, "version": version, "shipped": model, "backend": "tflite int8 (default)",
                         "formats": "png8 (default)", "files": batch, "wall_s": round(batch_wall, 2),
                         "cpu_s": round(batch_cpu, 2), "peak_rss_mb": round(batch_rss), "runs": 1,
                         "mp_per_s": round(batch * megapixels / batch_wall, 2)})
        print(rows[-4:], flush=True)

    def find(version, model, backend_prefix, formats_prefix):
        return next((r for r in rows if r["kind"] == "single file" and r["version"] == version and r["shipped"] == model
                     and r["backend"].startswith(backend_prefix) and r["formats"].startswith(formats_prefix)), None)

    now, old = "shipped now", f"shipped at {args.before}"
    after, after_both = find("after", now, "tflite int8 (default)", "png8"), find("after", now, "tflite", "png16+png8")
    singles_row, lanes_row, lanes_old_row, pipeline_row = rows[-4:]
    after_stages = next(r for r in stage_rows if (r["version"], r["shipped"], r["backend"]) == ("after", now, "tflite"))
    stage_total = sum(after_stages[k] for k in ("decode", "pack", "model", "render", "write"))
    model_share = after_stages["model"] / stage_total
    ratios = {}
    if with_before:
        before = find("before", old, "tflite", "png16+png8")
        after_old = find("after", old, "tflite int8 (default)", "png8")
        ratios.update({
            "end-to-end speed-up, tflite int8, each version's default command and shipped model (before wall / after wall)":
                before["wall_s"] / after["wall_s"],
            "end-to-end speed-up, tflite int8, the same two PNGs (before wall / after --format png wall)":
                before["wall_s"] / after_both["wall_s"],
            f"end-to-end speed-up on the same model (git {args.before}'s), default commands (before wall / after wall)":
                before["wall_s"] / after_old["wall_s"],
            "peak RSS ratio, tflite int8, default commands (before / after)":
                before["peak_rss_mb"] / after["peak_rss_mb"],
            "CPU-time ratio, tflite int8, default commands (before / after)": before["cpu_s"] / after["cpu_s"],
            f"this code, model shipped now / git {args.before}'s model (wall, default command)":
                after["wall_s"] / after_old["wall_s"],
        })
    ratios.update({
        f"batch throughput / {batch} single runs (wall), 2 lanes": lanes_row["mp_per_s"] / singles_row["mp_per_s"],
        f"batch design, git {args.pipeline}'s model: 2 lanes' throughput / the previous pipeline's (wall)":
            lanes_old_row["mp_per_s"] / pipeline_row["mp_per_s"],
        f"batch CPU saving, 2 lanes: {batch} single runs' CPU s / batch CPU s": singles_row["cpu_s"] / lanes_row["cpu_s"],
        "model share of the staged time, after tflite (model / decode+pack+model+render+write)": model_share,
    })
    one_thread = scaling["1 interpreter, 1 thread"]
    ratios["model alone on 2 cores: 2 threads / 1 thread (tiles/s)"] = scaling["1 interpreter, 2 threads"] / one_thread
    ratios["model alone on 2 cores: 2 one-thread interpreters / 1 (tiles/s)"] = (
        scaling["2 interpreters, 1 thread each"] / one_thread)
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}")
    # The goals (one 18–24 MP RAW, int8 mobile, 2 threads), against this run's numbers.
    goals = [("end to end, default command", after["wall_s"], "≤ 4 s", after["wall_s"] <= 4),
             ("first tile (cold start)", after_stages["first tile (cold)"], "≤ 1.5 s",
              after_stages["first tile (cold)"] <= 1.5),
             ("peak RSS, one file", after["peak_rss_mb"], "≤ 800 MB", after["peak_rss_mb"] <= 800),
             (f"{batch}-file batch / {batch} single runs", round(lanes_row["mp_per_s"] / singles_row["mp_per_s"], 2),
              "≥ 1.5×", lanes_row["mp_per_s"] / singles_row["mp_per_s"] >= 1.5),
             ("model share of the staged time", round(model_share, 2), "≥ 0.5", model_share >= 0.5)]
    stage_keys = [k for k in stage_rows[0] if k not in ("version", "shipped", "backend")]
    md = ["| kind | version | shipped model | backend | formats | files | runs | wall s (median) | CPU s | peak RSS MB | MP/s |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]
    md += [f"| {r['kind']} | {r['version']} | {r['shipped']} | {r['backend']} | {r['formats']} | {r['files']} | "
           f"{r['runs']} | {r['wall_s']} | {r['cpu_s']} | {r['peak_rss_mb']} | {r['mp_per_s']} |" for r in rows]
    md += ["", "Stages (fresh processes, seconds, median of `runs`; model = sum of tile calls; render = the "
           "tiler's copies and, for a RAW-head model, the ISP render to sRGB integers; first tile = process "
           "start → first model call):", "",
           "| version | shipped model | backend | " + " | ".join(stage_keys) + " |", "|---|---|---|" + "---|" * len(stage_keys)]
    md += [f"| {r['version']} | {r['shipped']} | {r['backend']} | " + " | ".join(str(r[k]) for k in stage_keys) + " |"
           for r in stage_rows]
    md += ["", "Goals of issue 15 (model shipped now, int8, 2 threads):", "",
           "| goal | measured | target | met |", "|---|---|---|---|"]
    md += [f"| {name} | {value} | {target} | {'yes' if met else 'no'} |" for name, value, target, met in goals]
    md += ["", "Ratios (same run):", ""] + [f"- {name}: **{value:.2f}**" for name, value in ratios.items()]
    md += ["", "The model alone (shipped int8, 512×512 packed tiles, tiles/s): "
           + ", ".join(f"{k} {v:.1f}" for k, v in scaling.items()) + "."]
    csv_rows = ([{**r, "table": "runs"} for r in rows] + [{**r, "table": "stages"} for r in stage_rows]
                + [{"table": "model tiles/s", "kind": k, "mp_per_s": round(v, 2)} for k, v in scaling.items()])
    write_results(
        "enhance_e2e", csv_rows, title="`lowlight enhance` end to end on a 24 MP DNG: before vs after, per backend and model",
        notes=(f"Fixture: 6000×4000 RGGB DNG written by keras_lowlight.runtime.dng.write_dng (ratio 250 from its 0.04 s "
               f"exposure). Models: 'shipped now' = {SHIPPED} of this checkout, {described['now']}; "
               + (f"'shipped at {args.before}' = the {SHIPPED} that revision shipped, {described['before']}. "
                  if with_before else "")
               + "int8 .tflite for the tflite rows, model.keras for keras; 2 LiteRT threads. "
               + (f"'before' = git {args.before} (the enhance path when issue 15 started) with the model it shipped "
                  "(it cannot read a RAW-head model), extracted with git archive and run with the same Python and "
                  "packages ('before' quantises inside write_outputs, so its render column is the tiler's "
                  "padding/copies only); this checkout's code also runs that model ('after', 'shipped at'), so the "
                  "wrapper's change is measured on one model. The default output changed: before, a 16-bit and an "
                  "8-bit PNG; after, one 8-bit PNG (`--format png` writes both, measured too). " if with_before else "")
               + "Wall time includes interpreter start and imports; peak RSS is the child's ru_maxrss; CPU s = its "
               "user + system time (all threads). 'after' single-file tflite rows: median of `runs` fresh processes, "
               "after one discarded warm-up run; the CSV has each row's min and max wall. Batch rows: one run each; "
               f"the previous batch design is git {args.pipeline} run on the same folder with the model it shipped "
               f"({described['pipeline']}), beside this checkout's batch with that model. Run under a script that "
               "pauses the project's background training; "
               "other work on the shared 2-core machine was running beside it (see the load average above)."),
        markdown="\n".join(md),
    )


if __name__ == "__main__":
    main()
