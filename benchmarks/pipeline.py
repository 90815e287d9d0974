"""Does the input pipeline keep model.fit fed? Crops/s delivered vs crops/s consumed, one run.

    python benchmarks/pipeline.py [--preset resnet_se_16] [--crop 128] [--batch 8]

Measures, side by side on this machine:
  1. the tf.data pipeline alone (`keras_lowlight.data.make_dataset` on sid/synthetic: decode,
     CFA-aligned random crop, normalise, pack, amplify, flips, shuffle, batch) in crops/s;
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
from keras_lowlight.train import compile_model


def pipeline_rate(dataset: str, crop: int, batch: int, batches: int) -> float:
    ds = data.make_dataset(dataset, "train", crop=crop, batch=batch, training=True)
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
    parser.add_argument("--preset", default="resnet_se_16")
    parser.add_argument("--crop", type=int, default=128, help="packed crop side (paper: 256)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--pipeline-batches", type=int, default=40)
    parser.add_argument("--fit-steps", type=int, default=3)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)

    supply = pipeline_rate(args.dataset, args.crop, args.batch, args.pipeline_batches)
    demand = fit_rate(args.preset, args.crop, args.batch, args.fit_steps)
    print(f"| measured on | {tf.config.list_physical_devices('GPU') and 'GPU' or 'CPU'} "
          f"({len(tf.config.list_physical_devices('CPU'))} CPU device), crop {args.crop}, batch {args.batch} |")
    print("| what | crops/s |")
    print("| --- | ---: |")
    print(f"| tf.data pipeline ({args.dataset}) | {supply:.1f} |")
    print(f"| model.fit {args.preset} | {demand:.2f} |")
    print(f"| ratio supply / demand | {supply / demand:.1f}× (goal ≥ 5×) |")
    write_results("pipeline", [{"dataset": args.dataset, "preset": args.preset, "crop": args.crop,
                                "batch": args.batch, "pipeline_crops_per_s": supply, "fit_crops_per_s": demand,
                                "supply_over_demand": supply / demand}],
                  title="Does the input pipeline keep model.fit fed?",
                  notes=f"crops/s: tf.data pipeline ({args.pipeline_batches} batches after 3 warm-up) vs model.fit "
                        f"of `{args.preset}` on one cached batch ({args.fit_steps} steps after 2 warm-up); goal ≥ 5×.")


if __name__ == "__main__":
    main()
