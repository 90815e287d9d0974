"""Does the input pipeline keep model.fit fed? Crops/s delivered vs crops/s consumed, one run.

    python benchmarks/pipeline.py [--presets mobile,resnet_se_16] [--noise recorded,synthetic]
                                  [--crop 128] [--batch 8]

Measures, side by side on this machine:
  1. the tf.data pipeline alone (`keras_lowlight.data.make_dataset` on sid/synthetic: decode,
     CFA-aligned random crop, normalise, pack, amplify, flips, shuffle, batch) in crops/s, per
     noise mode (`synthetic`: fresh calibrated noise drawn on the clean long exposure per crop);
  2. `model.fit` of the preset on one cached batch (so data cannot be its bottleneck), in
     crops/s = steps · batch / s;
and prints their ratio (goal ≥ 5×: the accelerator never waits for data).
Writes `benchmarks/results/pipeline.{md,csv}` (benchmarks/_results.py).
"""

from __future__ import annotations

import argparse
import time

import keras
import tensorflow as tf

from _results import write_results
from keras_lowlight import data, models
from keras_lowlight.training.train import compile_model


def pipeline_rate(dataset: str, crop: int, batch: int, batches: int, noise: str = "recorded") -> float:
    ds = data.make_dataset(dataset, "train", crop=crop, batch=batch, training=True, noise=noise, seed=0)
    it = iter(ds)
    for _ in range(3):  # warm-up: open files, fill shuffle buffer
        next(it)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * batch / (time.perf_counter() - start)


def fit_rate(preset: str, crop: int, batch: int, steps: int) -> float:
    model = models.get(preset, cfa="bayer")
    compile_model(model)
    x = tf.random.uniform([batch, crop, crop, 4])
    y = tf.random.uniform([batch, crop * 2, crop * 2, 3])
    cached = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(cached, epochs=1, steps_per_epoch=2, verbose=0)  # trace + warm-up
    start = time.perf_counter()
    model.fit(cached, epochs=1, steps_per_epoch=steps, verbose=0)
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="sid/synthetic")
    parser.add_argument("--presets", default="mobile,resnet_se_16", help="comma-separated model presets")
    parser.add_argument("--noise", default="recorded,synthetic", help="comma-separated noise modes")
    parser.add_argument("--crop", type=int, default=128, help="packed crop side (paper: 256)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--pipeline-batches", type=int, default=40)
    parser.add_argument("--fit-steps", type=int, default=3)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)

    supply = {noise: pipeline_rate(args.dataset, args.crop, args.batch, args.pipeline_batches, noise)
              for noise in args.noise.split(",")}
    demand = {preset: fit_rate(preset, args.crop, args.batch, args.fit_steps) for preset in args.presets.split(",")}
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"| measured on | {device}, crop {args.crop}, batch {args.batch} |")
    print("| what | crops/s |")
    print("| --- | ---: |")
    for noise, rate in supply.items():
        print(f"| tf.data pipeline ({args.dataset}, noise={noise}) | {rate:.1f} |")
    for preset, rate in demand.items():
        print(f"| model.fit {preset} | {rate:.2f} |")
    rows = []
    for noise, s_rate in supply.items():
        for preset, d_rate in demand.items():
            print(f"| supply / demand, noise={noise}, {preset} | {s_rate / d_rate:.1f}× (goal ≥ 5×) |")
            rows.append({"dataset": args.dataset, "noise": noise, "preset": preset, "device": device,
                         "crop": args.crop, "batch": args.batch, "pipeline_crops_per_s": s_rate,
                         "fit_crops_per_s": d_rate, "supply_over_demand": s_rate / d_rate})
    write_results("pipeline", rows, title="Does the input pipeline keep model.fit fed?",
                  notes=f"crops/s: tf.data pipeline per noise mode ({args.pipeline_batches} batches after 3 "
                        f"warm-up) vs model.fit of each preset on one cached batch ({args.fit_steps} steps after "
                        "2 warm-up), measured one after the other in this one run; goal ≥ 5×.")


if __name__ == "__main__":
    main()
