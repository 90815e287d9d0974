"""Presets trained side by side for the same wall-clock time on the same threads, scored on the same pairs.

    python benchmarks/equal_time.py [--candidates mobile_unet_s sid_unet --minutes 90 --threads 1
                                     --cores 0 1 --limit N --runs runs/equal_time --name equal_time]

Why (issue 14): the shipped `mobile` model must be at least as good as SID's U-Net trained with
the same data for the same wall-clock time and threads on this machine. An equal budget in
optimizer steps (`benchmarks/models.py`) gives a network 8× heavier 8× the compute; here each
candidate gets the same minutes of one core, and what it learns in them is what counts.

Training: each candidate in its own child process (this script with `--child`), all at once,
each pinned to its own core (`os.sched_setaffinity`, what `taskset -c` does; `--one-at-a-time`:
one after the other on the first core) with TensorFlow's intra-/inter-op thread pools at
`--threads`. The recipe is `configs/mobile_unet_s_bayer.json` with only the preset changed:
`sid/synthetic` train split with fresh synthetic noise on the clean long exposures, RAW head,
μ-law L1, Adam 1e-3 (×0.3 every 12000 steps), batch 8, crop 64, seed 0 (the same crops in the
same order), validation PSNR on the recorded validation frames every `--steps-per-epoch` steps,
`best.keras` = best validation PSNR. The `mobile_unet*` presets use the recipe's direct RAW output
(`raw_residual` false); `sid_unet` has one RAW head (a 1×1 tail added to the input; its first level
is at the packed resolution, so the half-resolution-bottleneck limit `raw_head_ab.md` measured for
the residual `mobile_unet_s` does not apply). Changed for a time budget: no early stopping, a
backup per epoch only, and `keras_lowlight.training.budget.WallClockBudget` stops `fit` after
`--minutes` (from its first step; validation and checkpoints count, as in a real training; a
partial last epoch is still validated). A budget run cannot resume: each training starts over in
`<runs>/<preset>/`. `--score-only` re-scores finished runs.

Scoring: `keras_lowlight.evaluation.evaluate` on the `sid/synthetic` test split (protocol `all`;
`--limit N`: its first N pairs), float Keras models at full resolution, each output and the clean
long exposure rendered by the project's ISP with the file's colour; amplification-only and BM3D
(`baselines=("bm3d",)`, rendered the same way) beside them. PSNR, SSIM, mean CIEDE2000 ΔE, per
ratio too; MACs per sensor pixel, parameters, steps reached, training and CPU seconds.
BM3D results are cached in `--bm3d-cache` (default: $LOWLIGHT_BM3D_CACHE, else runs/bm3d_cache);
its s/MP is the first computation's.
Writes `benchmarks/results/<name>.{md,csv}`, `<name>_curve.{md,csv}` (validation PSNR against
training time) and `<name>.png`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import markdown_table, write_results  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RECIPE = REPO / "configs" / "mobile_unet_s_bayer.json"
REQUEST, RECORD, LOG = "equal_time_request.json", "equal_time.json", "child.log"


def fail(message: str) -> None:
    print(f"equal_time: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def recipe(preset: str, output: Path, steps_per_epoch: int, learning_rate: float | None = None) -> dict:
    """The shipped recipe's `train` arguments with this candidate's preset, for a time budget.
    `learning_rate`: this candidate's own rate instead of the recipe's (e.g. SID's 1e-4 for
    `sid_unet`, which diverges at the mobile recipe's 1e-3)."""
    config = {k: v for k, v in json.loads(RECIPE.read_text()).items() if not k.startswith("_")}
    if learning_rate is not None:
        config["learning_rate"] = learning_rate
    overrides = dict(config.get("model_overrides", {})) if preset.startswith("mobile_unet") else {}
    config.update(preset=preset, model_overrides=overrides, output=str(output), epochs=10**6,
                  steps_per_epoch=steps_per_epoch, early_stop_patience=None, backup_every="epoch")
    return config


# === The child: one candidate's training ===

def child(run: Path) -> None:
    """Trains one candidate as `run/equal_time_request.json` says, pinned and thread-limited."""
    request = json.loads((run / REQUEST).read_text())
    threads = request["threads"]
    os.sched_setaffinity(0, request["cores"])  # before TensorFlow sizes its thread pools
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = str(threads)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    from keras_lowlight.training.budget import WallClockBudget
    from keras_lowlight.training.train import train

    config = dict(request["config"])
    preset = config.pop("preset")

    def log(entry: dict) -> None:
        print(f"{preset}: epoch {entry['epoch']}, {entry['seconds'] / 60:.1f} min, {entry['steps']} steps, "
              f"loss {entry.get('loss', float('nan')):.4f}, val_psnr {entry.get('val_psnr', float('nan')):.2f}",
              flush=True)

    clock = time.process_time if request["clock"] == "cpu" else time.monotonic
    budget = WallClockBudget(request["minutes"] * 60, record=run / RECORD, log=log, clock=clock)
    cpu_start = time.process_time()
    train(preset, callbacks=[budget], verbose=0, **config)
    record = budget.summary()
    record.update(cpu_seconds=time.process_time() - cpu_start, cores=sorted(os.sched_getaffinity(0)),
                  threads=threads, clock=request["clock"], finished=True)
    (run / RECORD).write_text(json.dumps(record, indent=2))


# === The parent: training side by side, then scoring ===

def start_child(run: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    log = open(run / LOG, "w")
    return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", str(run)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)


def train_all(args, runs: dict[str, Path], cores: list[int]) -> None:
    for i, (preset, run) in enumerate(runs.items()):
        if run.exists():
            print(f"starting over: removing {run} (a time-budget run cannot resume)")
            shutil.rmtree(run)
        run.mkdir(parents=True)
        core = cores[0] if args.one_at_a_time else cores[i]
        request = {"config": recipe(preset, run, args.steps_per_epoch, args.learning_rate.get(preset)),
                   "minutes": args.minutes,
                   "clock": args.clock, "threads": args.threads, "cores": [core]}
        (run / REQUEST).write_text(json.dumps(request, indent=2))
    batches = [[p] for p in runs] if args.one_at_a_time else [list(runs)]
    procs: dict[str, subprocess.Popen] = {}
    try:
        for batch in batches:
            print(f"training {', '.join(batch)} for {args.minutes:g} min each "
                  f"(logs: {', '.join(str(runs[p] / LOG) for p in batch)})", flush=True)
            procs = {preset: start_child(runs[preset]) for preset in batch}
            for preset, proc in procs.items():
                if proc.wait() != 0:
                    tail = (runs[preset] / LOG).read_text().strip().splitlines()[-15:]
                    print("\n".join(tail), file=sys.stderr)
                    fail(f"training {preset} failed (exit {proc.returncode}); log: {runs[preset] / LOG}")
                record = json.loads((runs[preset] / RECORD).read_text())
                print(f"{preset}: {record['steps']} steps in {record['seconds'] / 60:.1f} min "
                      f"({record['cpu_seconds'] / 60:.1f} CPU min)", flush=True)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait()


def plot_curves(records: dict[str, dict], path: Path, clock: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for preset, record in records.items():
        curve = [e for e in record["curve"] if "val_psnr" in e]
        ax.plot([e["seconds"] / 60 for e in curve], [e["val_psnr"] for e in curve], marker=".", label=preset)
    ax.set_xlabel(f"training time (min, {'CPU' if clock == 'cpu' else 'wall'}; one core each)")
    ax.set_ylabel("validation PSNR (dB, packed linear RAW)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def training_columns(model, record: dict, run: Path) -> dict:
    """What each candidate cost and reached in its budget, with its learning rate and start time."""
    import datetime

    from keras_lowlight import models

    request = run / REQUEST  # written just before the candidate's training started
    started = datetime.datetime.fromtimestamp(request.stat().st_mtime, datetime.timezone.utc)

    best = max((e for e in record["curve"] if "val_psnr" in e), key=lambda e: e["val_psnr"])
    return {"params": model.count_params(),
            # per sensor (= rendered sRGB) megapixel: a packed Bayer pixel is 2 × 2 of them
            "gmac_per_sensor_mp": models.macs_per_output_megapixel(model, input_hw=(64, 64)) / 4 / 1e9,
            "train_steps": record["steps"], "train_min": record["seconds"] / 60,
            "validation_min": record["validation_seconds"] / 60, "cpu_min": record["cpu_seconds"] / 60,
            "core": ",".join(map(str, record["cores"])), "threads": record["threads"],
            "best_val_psnr": best["val_psnr"], "best_at_min": best["seconds"] / 60, "best_at_step": best["steps"],
            "learning_rate": json.loads(request.read_text())["config"]["learning_rate"],
            "started_utc": started.strftime("%H:%M")}


def score(args, runs: dict[str, Path]) -> None:
    from keras_lowlight.evaluation.evaluate import evaluate, load_model

    os.environ["LOWLIGHT_BM3D_CACHE"] = str(Path(args.bm3d_cache).resolve())
    records, summaries, costs = {}, {}, {}
    for preset, run in runs.items():
        record_path = run / RECORD
        record = json.loads(record_path.read_text()) if record_path.exists() else {}
        if not record.get("finished") or not (run / "best.keras").exists():
            fail(f"{run} holds no finished equal-time run (train it: drop --score-only)")
        model = load_model(run / "best.keras")
        start = time.monotonic()
        report = evaluate(model, "sid/synthetic", "test", protocol="all", output=run / "evaluate",
                          limit=args.limit, baselines=("bm3d",), progress=False)
        summaries[preset], records[preset], costs[preset] = report.summary(), record, training_columns(model, record, run)
        print(f"scored {preset} on {len(report.results)} pairs of sid/synthetic:test in "
              f"{time.monotonic() - start:.0f} s", flush=True)

    first = next(iter(summaries.values()))
    buckets = ["overall", *(b for b in first if b != "overall")]
    rows = []
    for bucket in buckets:  # overall first, then per ratio
        s = first[bucket]
        rows.append({"method": "amplification-only", "ratio": bucket, "images": s["count"],
                     "psnr": s["baseline_psnr"], "ssim": s["baseline_ssim"], "deltaE": s["baseline_delta_e"]})
        rows.append({"method": "BM3D", "ratio": bucket, "images": s["count"], "psnr": s["bm3d_psnr"],
                     "ssim": s["bm3d_ssim"], "deltaE": s["bm3d_delta_e"], "bm3d_s_per_mp": s["bm3d_s_per_mp"]})
        for preset, summary in summaries.items():
            m = summary[bucket]
            # The same pairs for every candidate: the baselines agree.
            assert abs(m["baseline_psnr"] - s["baseline_psnr"]) < 1e-6, (preset, bucket)
            rows.append({"method": preset, "ratio": bucket, "images": m["count"], "psnr": m["psnr"],
                         "ssim": m["ssim"], "deltaE": m["delta_e"], **(costs[preset] if bucket == "overall" else {})})

    overall = {row["method"]: row for row in rows if row["ratio"] == "overall"}
    head, *others = list(runs)
    lines = []
    for other in others:
        a, b = overall[head], overall[other]
        lines.append(f"{head} − {other}: {a['psnr'] - b['psnr']:+.2f} dB PSNR, {a['ssim'] - b['ssim']:+.4f} SSIM, "
                     f"{a['deltaE'] - b['deltaE']:+.2f} ΔE (lower is better); steps reached "
                     f"{a['train_steps']} vs {b['train_steps']} ({a['train_steps'] / max(b['train_steps'], 1):.2f}×); "
                     f"MACs per pixel {a['gmac_per_sensor_mp'] / b['gmac_per_sensor_mp']:.3f}× {other}'s")
    for preset in runs:
        m = overall[preset]
        lines.append(f"{preset}: {m['psnr'] - overall['BM3D']['psnr']:+.2f} dB PSNR over BM3D, "
                     f"{m['psnr'] - overall['amplification-only']['psnr']:+.2f} dB over amplification-only, "
                     f"ΔE {m['deltaE'] - overall['BM3D']['deltaE']:+.2f} vs BM3D's")
    print("\n".join(lines))

    curve_rows = [{"candidate": preset, **{k: e.get(k) for k in ("epoch", "seconds", "steps", "loss", "psnr",
                                                                   "val_loss", "val_psnr", "val_ssim")}}
                  for preset, record in records.items() for e in record["curve"]]
    results = Path(args.results_dir)
    results.mkdir(parents=True, exist_ok=True)
    clock = records[head].get("clock", "wall")
    plot_curves(records, results / f"{args.name}.png", clock)
    budgets = sorted({r["budget_seconds"] / 60 for r in records.values()})
    at_once = len({r["cores"][0] for r in records.values()}) == len(records)
    notes = (f"Budget: {' / '.join(f'{m:g}' for m in budgets)} min of `model.fit` "
             f"{'CPU' if clock == 'cpu' else 'wall'} time per candidate, {records[head]['threads']} TensorFlow "
             f"thread(s) each, " + ("each pinned to its own core" if at_once else "one after the other on one core")
             + " (`core` column; `started_utc`: when each began; `learning_rate`: each one's rate). cpu_min: the CPU time each training process got (below train_min when other "
             f"jobs shared its core). Scored on {first['overall']['count']} pairs of sid/synthetic:test (protocol "
             "all), full frames; RAW-head outputs rendered by isp.render_packed with the file's colour, truth = the "
             "clean long exposure rendered the same way, amplification-only and BM3D rendered the same way "
             "(bm3d_s_per_mp: BM3D's seconds per megapixel when first computed). Rows: overall, then per ratio "
             "bucket. best_val_psnr: validation split, packed linear RAW. Curves: "
             f"{args.name}_curve.csv, picture {args.name}.png.\n\n"
             + "\n".join(f"- {line}" for line in lines) + "\n\n" + __doc__.split("\n\n", 2)[2])
    write_results(args.name, rows, title="Equal-time training: candidates side by side", notes=notes,
                  markdown=markdown_table(rows), results_dir=results)
    write_results(f"{args.name}_curve", curve_rows, title="Equal-time training: training curves",
                  notes=f"One row per epoch ({args.steps_per_epoch} steps; the last one partial) per candidate; "
                        f"seconds of {clock} time since fit's first step. Results: {args.name}.md.",
                  results_dir=results)
    print(f"wrote {results / args.name}.md, .csv, _curve.md, _curve.csv, .png")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", nargs="+", default=["mobile_unet_s", "sid_unet"],
                        help="presets; margins are the first minus each other")
    parser.add_argument("--minutes", type=float, default=90.0, help="training wall time per candidate")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="budget wall time (default) or the CPU time each training process got (shared machine)")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow intra-/inter-op threads per candidate")
    parser.add_argument("--cores", type=int, nargs="+", help="cores to pin the candidates to, one each "
                        "(default: the first ones this process may use)")
    parser.add_argument("--one-at-a-time", action="store_true",
                        help="train the candidates one after the other on the first core (fewer cores than candidates)")
    parser.add_argument("--steps-per-epoch", type=int, default=500, help="steps between validations")
    parser.add_argument("--learning-rate", action="append", default=[], metavar="PRESET=RATE",
                        help="a candidate's own learning rate (repeatable), e.g. sid_unet=1e-4 (SID's)")
    parser.add_argument("--limit", type=int, help="score on the first N test pairs only")
    parser.add_argument("--runs", default="runs/equal_time", help="run folders, one per candidate")
    parser.add_argument("--bm3d-cache", default=os.environ.get("LOWLIGHT_BM3D_CACHE") or "runs/bm3d_cache")
    parser.add_argument("--name", default="equal_time", help="result file names")
    parser.add_argument("--results-dir", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument("--score-only", action="store_true", help="score the finished runs in --runs again")
    args = parser.parse_args()

    from keras_lowlight.models.presets import PRESETS

    unknown = [c for c in args.candidates if c not in PRESETS]
    if unknown:
        fail(f"unknown preset {unknown[0]!r}; known: {', '.join(PRESETS)}")
    if len(set(args.candidates)) != len(args.candidates):
        fail("each candidate once")
    if not args.minutes > 0 or args.minutes != args.minutes:
        fail(f"--minutes must be > 0, got {args.minutes}")
    if args.threads < 1 or args.steps_per_epoch < 1 or (args.limit is not None and args.limit < 1):
        fail("--threads, --steps-per-epoch and --limit must be positive integers")
    try:
        args.learning_rate = {k: float(v) for k, v in (item.split("=", 1) for item in args.learning_rate)}
    except ValueError:
        fail(f"--learning-rate takes PRESET=RATE, got {' '.join(args.learning_rate)}")
    if not set(args.learning_rate) <= set(args.candidates) or not all(0 < v < 1 for v in args.learning_rate.values()):
        fail("--learning-rate: a candidate's preset and a rate in (0, 1)")
    usable = sorted(os.sched_getaffinity(0))
    cores = args.cores or usable[: len(args.candidates)]
    if not set(cores) <= set(usable):
        fail(f"--cores {' '.join(map(str, cores))}: this process may use cores {usable}")
    if not args.one_at_a_time and (len(cores) < len(args.candidates) or len(set(cores)) < len(cores)):
        fail(f"{len(args.candidates)} candidates at once need as many distinct cores (have {cores}); "
             "pass --cores or --one-at-a-time")
    runs = {preset: Path(args.runs).resolve() / preset for preset in args.candidates}  # children run at the root
    start = time.monotonic()
    if not args.score_only:
        train_all(args, runs, cores)
    score(args, runs)
    print(f"total {(time.monotonic() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
