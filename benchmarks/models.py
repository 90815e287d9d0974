"""Every main preset side by side: cost, speed, memory and quality at an equal training budget.

    python benchmarks/models.py [--steps 200 --batch 8 --crop 32 --size 256]

For each preset (SID's U-Net, the paper's ResNet-SE-16, the fast `mobile`), in one run on this
machine, each in a fresh child process (TFLite conversion leaks memory in TF 2.21, and peak RSS
must not mix presets):

* params and MACs per output megapixel (`keras_lowlight.models.count_macs`, layer by layer);
* Keras CPU, TFLite float32 and TFLite int8 latency per output megapixel (LiteRT, 2 threads,
  median of interleaved repeats, graphs without the pad/crop adapters, input a multiple of 16);
* peak memory of one float32 Keras inference: the `ru_maxrss` (high-water mark of resident
  memory) of a FRESH child process that imports TensorFlow, builds the preset and runs one
  inference at the benchmark size — and that process's RSS just before the call, so the
  difference bounds what the inference itself added;
* PSNR / SSIM on the `sid/synthetic` test split (full frames through the tiler) after the SAME
  budget for every preset: same data, steps, batch, crop, L1 + Adam, seed. With `--seeds 0 1 2`
  every preset is trained once per seed (each in a fresh child) and the table gives mean ± sample
  standard deviation over seeds; speed and memory are measured for the first seed only;
* how much of the int8 graph XNNPACK runs (`keras_lowlight.export.delegation`: one partition, nothing
  outside = the whole graph), at the latency input size;
* with `--bm3d`, BM3D's PSNR / SSIM / time on the same test images (computed once, in the first
  preset's child), beside amplification-only.

Prints one Markdown table with ratios to the U-Net and writes `benchmarks/results/models<tag>.{md,csv}`
(benchmarks/_results.py; one CSV row per preset and seed) and the speed-vs-PSNR plot
`benchmarks/results/models_speed_vs_psnr<tag>.png`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
RESULTS = Path(__file__).resolve().parent / "results"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_results  # noqa: E402
PRESETS = ("sid_unet", "resnet_se_16", "mobile")


def peak_memory(preset: str, args: argparse.Namespace) -> dict:
    """Child mode: a fresh process builds the preset and runs one float32 inference; its ru_maxrss
    is the real peak (TensorFlow's import and the model included)."""
    import resource

    import keras
    import numpy as np
    import psutil
    import tensorflow as tf

    from keras_lowlight import models

    keras.utils.set_random_seed(args.seed)
    fixed = models.without_size_adapters(models.get(preset, cfa="bayer"))
    x = tf.constant(np.random.default_rng(0).random((1, args.size, args.size, 4), dtype=np.float32))
    infer = tf.function(lambda t: fixed(t, training=False))
    before = psutil.Process().memory_info().rss
    infer(x).numpy()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return {"keras_peak_rss_mb": peak / 2**20, "keras_rss_before_call_mb": before / 2**20}


def measure_one(preset: str, args: argparse.Namespace) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_lowlight import data, export, models
    from keras_lowlight.evaluation.evaluate import evaluate
    from keras_lowlight.runtime.engine import LiteRTEngine
    from keras_lowlight.training.train import compile_model

    keras.utils.set_random_seed(args.seed)
    model = models.get(preset, cfa="bayer")
    size = args.size
    out_mp = (2 * size) ** 2 / 1e6
    row = {
        "preset": preset,
        "params": model.count_params(),
        "gmac_per_out_mp": models.macs_per_output_megapixel(model, "bayer") / 1e9,
    }

    # Equal training budget, then quality on the test split.
    train_ds = data.make_dataset("sid/synthetic", "train", crop=args.crop, batch=args.batch, training=True)
    compile_model(model, args.lr)
    start = time.perf_counter()
    model.fit(train_ds, epochs=1, steps_per_epoch=args.steps, verbose=0)
    row["train_s"] = time.perf_counter() - start
    baselines = ("bm3d",) if args.with_bm3d else ()
    summary = evaluate(model, dataset="sid/synthetic", output=None, progress=False,
                       baselines=baselines).summary()["overall"]
    row.update(seed=args.seed, psnr=summary["psnr"], ssim=summary["ssim"], baseline_psnr=summary["baseline_psnr"],
               delta_e=summary["delta_e"], baseline_delta_e=summary["baseline_delta_e"])
    if baselines:
        row.update(bm3d_psnr=summary["bm3d_psnr"], bm3d_ssim=summary["bm3d_ssim"], bm3d_delta_e=summary["bm3d_delta_e"],
                   bm3d_s_per_mp=summary["bm3d_s_per_mp"])
    if args.quality_only:
        return row

    x = np.random.default_rng(0).random((1, size, size, 4), dtype=np.float32)
    fixed = models.without_size_adapters(model)
    infer = tf.function(lambda t: fixed(t, training=False))

    # Latency: Keras, TFLite float32, TFLite int8 — interleaved repeats, median.
    crops = list(data.representative_crops("sid/synthetic", "train", count=32, crop=64))
    engines = {
        mode: LiteRTEngine(export.convert(model, mode, representative=crops if mode == "int8" else None,
                                          size_adapters=False), num_threads=args.threads)
        for mode in ("float32", "int8")
    }
    runners = {"keras": lambda: infer(tf.constant(x)).numpy(),
               **{mode: (lambda e=engine: e.run(x)) for mode, engine in engines.items()}}
    times: dict[str, list[float]] = {name: [] for name in runners}
    for run in runners.values():  # warm-up: allocation, XNNPACK packing
        run()
    for _ in range(args.repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    for name, values in times.items():
        row[f"{name}_ms_per_mp"] = statistics.median(values) * 1000 / out_mp
    # "builtin" when XNNPACK refused the int8 graph (e.g. an SE channel dead on the calibration crops).
    row["int8_backend"] = engines["int8"].backend
    from keras_lowlight.export.delegation import delegation_report

    report = delegation_report(engines["int8"].content, (size, size))
    row["int8_xnnpack"] = ("whole graph" if report.whole_graph else
                           report.error and "refused" or
                           f"{report.partitions} partitions, {len(report.outside_ops)} ops outside "
                           f"({' '.join(sorted(set(report.outside_ops)))})")
    return row


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for r in rows:
        ax.scatter(r["int8_ms_per_mp"], r["psnr"], s=60)
        ax.annotate(r["preset"], (r["int8_ms_per_mp"], r["psnr"]), textcoords="offset points", xytext=(6, 4))
    ax.axhline(rows[0]["baseline_psnr"], color="gray", linestyle="--", label="amplification only")
    ax.set_xscale("log")
    ax.set_xlabel("int8 TFLite latency, ms per output megapixel (LiteRT, 2 threads)")
    ax.set_ylabel("PSNR on sid/synthetic test (dB)")
    ax.set_title("Equal training budget: quality vs speed")
    ax.legend(loc="center right")
    ax.margins(x=0.25, y=0.2)
    fig.tight_layout()
    fig.savefig(path)


def _spread(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarise(rows: list[dict]) -> list[dict]:
    """One row per preset: the first seed's speed/memory, quality as mean and spread over seeds."""
    summary = []
    for preset in dict.fromkeys(r["preset"] for r in rows):
        mine = [r for r in rows if r["preset"] == preset]
        first = {k: v for k, v in mine[0].items() if k not in ("seed", "psnr", "ssim")}
        first["seeds"] = " ".join(str(r["seed"]) for r in mine)
        first["psnr"], first["psnr_std"] = _spread([r["psnr"] for r in mine])
        first["ssim"], first["ssim_std"] = _spread([r["ssim"] for r in mine])
        summary.append(first)
    return summary


def table(rows: list[dict], args: argparse.Namespace) -> str:
    ref = next(r for r in rows if r["preset"] == "sid_unet")
    seeds = len(args.seeds)
    quality = (f"PSNR/SSIM: mean ± sample std over {seeds} seeds ({' '.join(map(str, args.seeds))})"
               if seeds > 1 else f"PSNR/SSIM: one seed ({args.seeds[0]})")
    lines = [
        f"Bayer, {args.size}×{args.size} packed input ({(2 * args.size) ** 2 / 1e6:.2f} MP output), "
        f"LiteRT {args.threads} threads; equal budget: {args.steps} steps × batch {args.batch} × crop {args.crop}, "
        f"L1 + Adam {args.lr:g}; {quality} on the sid/synthetic test split; speed and memory from seed {args.seeds[0]}. "
        "Keras peak RSS: ru_maxrss of a fresh process that imports TensorFlow, builds the model and runs one "
        "inference (RSS before the call in brackets).",
        "",
        "| preset | params | GMAC/out MP | ×fewer MACs | Keras ms/MP | TFLite fp32 ms/MP | TFLite int8 ms/MP "
        "| int8 ×faster | int8 backend | int8 on XNNPACK | Keras peak RSS MB | train s | PSNR | SSIM "
        "| ΔPSNR vs U-Net |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    pm = (lambda v, sd, f: f"{v:{f}} ± {sd:{f}}") if seeds > 1 else (lambda v, sd, f: f"{v:{f}}")
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['params']:,} | {r['gmac_per_out_mp']:.1f} | "
            f"{ref['gmac_per_out_mp'] / r['gmac_per_out_mp']:.2f} | {r['keras_ms_per_mp']:.0f} | "
            f"{r['float32_ms_per_mp']:.0f} | {r['int8_ms_per_mp']:.0f} | "
            f"{ref['int8_ms_per_mp'] / r['int8_ms_per_mp']:.2f} | {r['int8_backend']} | "
            f"{r.get('int8_xnnpack', 'not measured')} | "
            f"{r['keras_peak_rss_mb']:.0f} ({r['keras_rss_before_call_mb']:.0f}) | {r['train_s']:.0f} | "
            f"{pm(r['psnr'], r['psnr_std'], '.2f')} | {pm(r['ssim'], r['ssim_std'], '.4f')} | "
            f"{r['psnr'] - ref['psnr']:+.2f} |"
        )
    lines.append(f"\namplification-only baseline on the same images: {ref['baseline_psnr']:.2f} dB, "
                 f"mean ΔE (CIEDE2000) {ref.get('baseline_delta_e', float('nan')):.2f}; the models' mean ΔE: "
                 + ", ".join(f"{r['preset']} {r.get('delta_e', float('nan')):.2f}" for r in rows))
    bm3d = next((r for r in rows if r.get("bm3d_psnr") not in (None, "")), None)
    if bm3d:
        lines.append(f"BM3D (GAT, noise estimated per frame, same oracle rendering) on the same images: "
                     f"{float(bm3d['bm3d_psnr']):.2f} dB, SSIM {float(bm3d['bm3d_ssim']):.4f}, "
                     f"ΔE {float(bm3d.get('bm3d_delta_e', 'nan')):.2f}, "
                     f"{float(bm3d['bm3d_s_per_mp']):.0f} s per output MP")
    return "\n".join(lines)


def run_child(mode: str, preset: str, seed: int, extra: list[str]) -> dict:
    child = subprocess.run([sys.executable, __file__, mode, preset, "--seed", str(seed), *extra],
                           capture_output=True, text=True)
    lines = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
    if child.returncode != 0 or not lines:
        sys.exit(f"{preset} (seed {seed}) failed:\n{child.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=32, help="packed crop side (multiple of 16 for the U-Net)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--size", type=int, default=256, help="packed side for latency (multiple of 16)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="one training run per seed and preset; quality as mean ± std (≥ 3 to compare models)")
    parser.add_argument("--tag", default="", help="suffix of the result files, e.g. _1000steps")
    parser.add_argument("--replot", action="store_true", help="redraw the plot from the CSV of --tag")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child mode: measure one preset, print JSON
    parser.add_argument("--peak", help=argparse.SUPPRESS)  # child mode: peak memory of one preset
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)  # the child's seed
    parser.add_argument("--quality-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bm3d", action="store_true", help="also score BM3D on the test images (once)")
    parser.add_argument("--with-bm3d", action="store_true", help=argparse.SUPPRESS)  # child: this one does
    args = parser.parse_args()

    if args.one:
        print("RESULT " + json.dumps(measure_one(args.one, args)))
        return
    if args.peak:
        print("RESULT " + json.dumps(peak_memory(args.peak, args)))
        return
    if args.replot:
        with open(RESULTS / f"models{args.tag}.csv") as f:
            rows = [{k: (v if k in ("preset", "int8_backend", "int8_xnnpack", "seeds") or v == "" else float(v))
                     for k, v in r.items()}
                    for r in csv.DictReader(f)]
        plot(summarise(rows) if "seed" in rows[0] else rows, RESULTS / f"models_speed_vs_psnr{args.tag}.png")
        return
    extra = [a for a in sys.argv[1:]]
    rows = []
    for preset in args.presets:
        for i, seed in enumerate(args.seeds):
            print(f"measuring {preset}, seed {seed} …", file=sys.stderr, flush=True)
            first = args.bm3d and preset == args.presets[0] and not i
            row = run_child("--one", preset, seed, extra + (["--quality-only"] if i else [])
                            + (["--with-bm3d"] if first else []))
            if not i:
                row.update(run_child("--peak", preset, seed, extra))
            rows.append(row)
    RESULTS.mkdir(exist_ok=True)
    summary = summarise(rows)
    plot(summary, RESULTS / f"models_speed_vs_psnr{args.tag}.png")
    text = table(summary, args)
    write_results(f"models{args.tag}", rows, title="Main presets side by side at an equal training budget",
                  markdown=text)
    print(text)


if __name__ == "__main__":
    main()
