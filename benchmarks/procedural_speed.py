"""Procedural scenes: pre-render at build time or paint on the fly? Seconds per scene, one run.

    python benchmarks/procedural_speed.py [--scenes 8] [--size 256]

Times `keras_lowlight.data.procedural.dead_leaves` (wall and CPU per scene) beside one `sid` build
step of the same scene (`synthetic.make_scene`: unprocess, noise, four DNGs), so the cost of
painting on the fly per training crop can be compared with `model.fit`'s crops/s
(`benchmarks/results/pipeline.md`). Writes `benchmarks/results/procedural_speed.{md,csv}`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _results import write_results

from keras_lowlight.data import procedural, synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    pixels = synthetic.train_palette_pixels()
    plans = [p for p in synthetic.scene_plans("train") if p.source == synthetic.LEAVES][: args.scenes]
    rows = []
    for label, work in (
        ("dead_leaves only", lambda i: procedural.dead_leaves(np.random.default_rng(i), (args.size,) * 2, pixels)),
        ("make_scene (leaves + unprocess + noise + 4 DNGs)", lambda i: synthetic.make_scene(plans[i % len(plans)])),
    ):
        work(0)  # warm-up
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(args.scenes):
            work(i + 1)
        rows.append({"what": label, "size": args.size, "scenes": args.scenes,
                     "wall_s_per_scene": (time.perf_counter() - wall) / args.scenes,
                     "cpu_s_per_scene": (time.process_time() - cpu) / args.scenes})
        print(rows[-1], flush=True)
    write_results("procedural_speed", rows, title="Procedural dead-leaves scenes: seconds per scene",
                  notes="One process, numpy; wall time on a shared machine is inflated by other jobs' load, "
                        "CPU time is this process's own.")


if __name__ == "__main__":
    main()
