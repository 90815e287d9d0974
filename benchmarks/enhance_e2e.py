"""End-to-end `lowlight enhance` on a full-size RAW: wall time, peak RSS, and where the time goes.

One run measures, side by side on the same machine and the same 24 MP DNG fixture (written with
the project's own `keras_lowlight.runtime.dng.write_dng`, 6000×4000 RGGB, a dark SID-like exposure):

* end to end: `lowlight enhance FILE` in a fresh process (wall time from the parent, peak RSS
  from the child's own rusage via `os.wait4`), for the code BEFORE this work (`--before`, a git
  revision extracted with `git archive`) and AFTER (this checkout), each backend, a few formats;
* a stage breakdown in a fresh process: decode (LibRaw) / pack (normalise, amplify) / model
  (sum of the engine's tile calls) / render (tiling gather + quantisation) / write (encode and
  atomic write), and the cold start: process start → first tile;
* batch: one `lowlight enhance FOLDER` of 10 files vs 10 single-file processes (after).

    python benchmarks/enhance_e2e.py                 # ~5 min on 2 busy cores
    python benchmarks/enhance_e2e.py --quick         # no 'before' Keras run, 4-file batch

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
SHIPPED = "saved_models/mobile_bayer"

STAGES = r"""
import json, os, sys, time
import psutil
born = psutil.Process().create_time()
t0 = time.perf_counter()
version, path, out_dir, backend = sys.argv[1:5]
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
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    p = subprocess.run([sys.executable, "-c", ISOLATE, *argv], cwd=cwd, env=env, capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"{argv} failed:\n{p.stderr.decode()[-3000:]}")
    out = p.stdout.decode()
    line = next(line for line in out.splitlines() if line.startswith("MEASURED "))
    _, wall, rss, cpu = line.split()
    return float(wall), float(rss), float(cpu), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="git revision of the 'before' code")
    parser.add_argument("--batch", type=int, default=10, help="files in the batch comparison")
    parser.add_argument("--quick", action="store_true", help="skip the 'before' Keras run; 4-file batch")
    args = parser.parse_args()
    batch = 4 if args.quick else args.batch
    python = sys.executable
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="enhance-e2e-") as tmp:
        tmp = Path(tmp)
        before_code = extract_revision(args.before, (tmp / "before").resolve())
        (before_code / "saved_models").symlink_to(REPO / "saved_models")  # the same shipped models
        after_code = REPO
        fixture = write_fixture(tmp / "00001_00_0.04s.ARW")
        megapixels = 24.0

        def cli(code: Path, *extra: str) -> list[str]:
            return [python, "-c", "import sys; from keras_lowlight.cli.main import main; sys.exit(main(sys.argv[1:]))",
                    "enhance", str(fixture), "-o", str(tmp / "out" / f"{len(rows)}"), *extra]

        cases = [
            ("before", "tflite int8", "png16+png8", before_code, ["--backend", "tflite"]),
            ("after", "tflite int8 (default)", "png16+png8 (default)", after_code, []),
            ("after", "tflite int8", "png8", after_code, ["--format", "png8"]),
            ("after", "tflite int8", "tiff", after_code, ["--format", "tiff"]),
            ("after", "keras float32", "png16+png8", after_code, ["--backend", "keras"]),
        ]
        if not args.quick:
            cases.insert(1, ("before", "keras float32 (default)", "png16+png8", before_code, []))
        for version, backend, formats, code, extra in cases:
            wall, rss, cpu, _ = isolated(cli(code, *extra), code, tmp)
            rows.append({"kind": "single file", "version": version, "backend": backend, "formats": formats,
                         "files": 1, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(rss),
                         "mp_per_s": round(megapixels / wall, 2)})
            print(rows[-1], flush=True)

        stage_rows = []
        for version, code in (("before", before_code), ("after", after_code)):
            for backend in ("tflite", "keras"):
                out_dir = tmp / "stages" / f"{version}-{backend}"
                out_dir.mkdir(parents=True)
                wall, rss, cpu, out = isolated([python, "-c", STAGES, version, str(fixture), str(out_dir), backend],
                                               code, tmp)
                stages = json.loads(next(l for l in out.splitlines() if l.startswith("STAGES "))[7:])
                stage_rows.append({"version": version, "backend": backend, **{k: round(v, 2) for k, v in stages.items()},
                                   "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(rss)})
                print(stage_rows[-1], flush=True)

        folder = tmp / "batch"
        folder.mkdir()
        for i in range(batch):
            shutil.copy(fixture, folder / f"{i:05d}_00_0.04s.ARW")
        singles = singles_cpu = 0.0
        for i in range(batch):
            wall, _, cpu, _ = isolated([python, "-c", "import sys; from keras_lowlight.cli.main import main; sys.exit(main(sys.argv[1:]))",
                                   "enhance", str(folder / f"{i:05d}_00_0.04s.ARW"), "-o", str(tmp / "single")],
                                  after_code, tmp)
            singles += wall
            singles_cpu += cpu
        batch_wall, batch_rss, batch_cpu, _ = isolated(
            [python, "-c", "import sys; from keras_lowlight.cli.main import main; sys.exit(main(sys.argv[1:]))",
             "enhance", str(folder), "-o", str(tmp / "batch-out")], after_code, tmp)
        rows.append({"kind": f"{batch} single-file runs", "version": "after", "backend": "tflite int8 (default)",
                     "formats": "png16+png8 (default)", "files": batch, "wall_s": round(singles, 2),
                     "cpu_s": round(singles_cpu, 2), "peak_rss_mb": "",
                     "mp_per_s": round(batch * megapixels / singles, 2)})
        rows.append({"kind": f"one {batch}-file batch", "version": "after", "backend": "tflite int8 (default)",
                     "formats": "png16+png8 (default)", "files": batch, "wall_s": round(batch_wall, 2),
                     "cpu_s": round(batch_cpu, 2), "peak_rss_mb": round(batch_rss), "mp_per_s": round(batch * megapixels / batch_wall, 2)})
        print(rows[-2:], flush=True)

    def find(version, backend_prefix, formats_prefix="png16+png8"):
        return next(r for r in rows if r["kind"] == "single file" and r["version"] == version
                    and r["backend"].startswith(backend_prefix) and r["formats"].startswith(formats_prefix))

    before, after = find("before", "tflite"), find("after", "tflite")
    after_stages = next(r for r in stage_rows if r["version"] == "after" and r["backend"] == "tflite")
    stage_total = sum(after_stages[k] for k in ("decode", "pack", "model", "render", "write"))
    ratios = {
        "end-to-end speed-up, tflite int8, default formats (before wall / after wall)": before["wall_s"] / after["wall_s"],
        "peak RSS ratio, tflite int8 (before / after)": before["peak_rss_mb"] / after["peak_rss_mb"],
        f"batch throughput / {batch} single runs (wall)": rows[-1]["mp_per_s"] / rows[-2]["mp_per_s"],
        f"batch CPU saving: {batch} single runs' CPU s / batch CPU s": rows[-2]["cpu_s"] / rows[-1]["cpu_s"],
        "CPU-time ratio, tflite int8, default formats (before / after)": before["cpu_s"] / after["cpu_s"],
        "model share of the staged time, after tflite (model / decode+pack+model+render+write)": after_stages["model"] / stage_total,
    }
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}")
    stage_keys = [k for k in stage_rows[0] if k not in ("version", "backend")]
    md = ["| kind | version | backend | formats | files | wall s | CPU s | peak RSS MB | MP/s |",
          "|---|---|---|---|---|---|---|---|---|"]
    md += [f"| {r['kind']} | {r['version']} | {r['backend']} | {r['formats']} | {r['files']} | {r['wall_s']} | "
           f"{r['cpu_s']} | {r['peak_rss_mb']} | {r['mp_per_s']} |" for r in rows]
    md += ["", "Stages (one fresh process each, seconds; model = sum of tile calls):", "",
           "| version | backend | " + " | ".join(stage_keys) + " |", "|---|---|" + "---|" * len(stage_keys)]
    md += [f"| {r['version']} | {r['backend']} | " + " | ".join(str(r[k]) for k in stage_keys) + " |" for r in stage_rows]
    md += ["", "Ratios (same run):", ""] + [f"- {name}: **{value:.2f}**" for name, value in ratios.items()]
    csv_rows = [{**r, "table": "runs"} for r in rows] + [{**r, "table": "stages"} for r in stage_rows]
    write_results(
        "enhance_e2e", csv_rows, title="`lowlight enhance` end to end on a 24 MP DNG: before vs after, per backend",
        notes=(f"Fixture: 6000×4000 RGGB DNG written by keras_lowlight.runtime.dng.write_dng (ratio 250 from its 0.04 s "
               f"exposure). Model: the shipped {SHIPPED} (int8 .tflite for tflite, model.keras for keras), 2 LiteRT "
               f"threads. 'before' = git {args.before} (the enhance path when issue 15 started), extracted with git "
               "archive and run with the same Python and packages ('before' quantises inside write_outputs, so its "
               "render column is the tiler's padding/copies only). Wall time includes interpreter start and imports; "
               "peak RSS is the child's ru_maxrss; CPU s = its user + system time (all threads), which a busy "
               "machine does not inflate the way it inflates wall time. One run each, on a shared machine: the "
               "load average below inflates wall times (CPU-bound work waits for a core)."),
        markdown="\n".join(md),
    )


if __name__ == "__main__":
    main()
