"""How fast a RAW-head output is rendered to sRGB: the float64 reference (`isp.render_packed`,
then the writers' `quantize`) vs the fast integer path `lowlight enhance` uses
(`isp.render_packed_quantized`), on one 24 MP frame, in one run.

Each variant runs in a fresh process (peak RSS from the child's own rusage, the packed input —
96 MB of float32 for 24 MP Bayer — included), on the same seeded random packed frame (rendering
time does not depend on the content). The reference runs once (it takes over a minute); the fast
variants run `--repeat` times after a warm-up, median reported (min–max in the CSV). The fast
outputs are compared code by code with the reference's quantisation (max codes apart).

    python benchmarks/isp_speed.py            # ~2-3 min on 2 quiet cores
    python benchmarks/isp_speed.py --xtrans   # + the X-Trans fast path (24 MP; slower, scipy)

Writes benchmarks/results/isp_speed.{md,csv}.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import REPO, write_results  # noqa: E402

WHITE_BALANCE = (2.0, 1.0, 1.5)
XYZ_TO_CAM = ((0.6722, -0.0635, -0.0963), (-0.4287, 1.2460, 0.2028), (-0.0908, 0.2162, 0.5668))  # a Canon's


def _frame(cfa: str, megapixels: float) -> np.ndarray:
    """A seeded random packed frame of about `megapixels` mosaic pixels, 3:2, values in [0, 1]."""
    from keras_lowlight.runtime.packing import layout_for

    layout = layout_for(cfa)
    width = int(round((megapixels * 1e6 * 1.5) ** 0.5)) // (layout.period * 2) * (layout.period * 2)
    height = width * 2 // 3 // layout.period * layout.period
    scale = layout.scale
    return np.random.default_rng(0).random((height // scale, width // scale, layout.channels), dtype=np.float32)


def child(variant: str, cfa: str, megapixels: float, repeat: int, workers: int, folder: Path) -> dict:
    """Runs one variant in this process; returns times, peak RSS and the codes-apart check."""
    from keras_lowlight.runtime import isp
    from keras_lowlight.runtime.packing import layout_for
    from keras_lowlight.runtime.writers import quantize

    packed = _frame(cfa, megapixels)
    times: list[float] = []
    cpu: list[float] = []  # this process's CPU seconds (user + system): steadier than wall time on a shared machine
    if variant == "reference":
        start, start_cpu = time.perf_counter(), time.process_time()
        srgb = isp.render_packed(packed, cfa, WHITE_BALANCE, np.asarray(XYZ_TO_CAM))
        eight = quantize(srgb, 8)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        del srgb
        np.save(folder / f"{cfa}_8.npy", eight)
        apart = -1  # (it is the reference)
    else:
        bits = 16 if variant.endswith("16") else 8
        run = lambda: isp.render_packed_quantized(packed, cfa, WHITE_BALANCE, np.asarray(XYZ_TO_CAM), bits,  # noqa: E731
                                                  workers=workers)
        run()  # warm-up (the lookup table is built once per process)
        out = None
        for _ in range(repeat):
            out = None  # (the previous output is not held while the next is made)
            start, start_cpu = time.perf_counter(), time.process_time()
            out = run()
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the check's copies
        apart = -1
        reference = folder / f"{cfa}_8.npy"
        if bits == 8 and reference.exists():
            apart = int(np.abs(out.astype(np.int16) - np.load(reference).astype(np.int16)).max())
        return {"times": times, "cpu": cpu, "peak_rss_mb": peak_rss_mb, "max_codes_apart_8bit": apart,
                "pixels": int(packed.shape[0] * packed.shape[1] * layout_for(cfa).scale ** 2)}
    return {"times": times, "cpu": cpu, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "max_codes_apart_8bit": apart, "pixels": int(packed.shape[0] * packed.shape[1] * layout_for(cfa).scale ** 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=24.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--xtrans", action="store_true", help="also time the X-Trans fast path")
    parser.add_argument("--child", nargs=4, metavar=("VARIANT", "CFA", "WORKERS", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, cfa, workers, folder = args.child
        print(json.dumps(child(variant, cfa, args.megapixels, args.repeat, int(workers), Path(folder))))
        return

    from keras_lowlight.runtime.packing import XTRANS_REFERENCE

    cases = [("reference", "RGGB", 1, "render_packed (float64) + quantize, 8-bit"),
             ("fast8", "RGGB", 2, "render_packed_quantized, 8-bit, 2 threads"),
             ("fast8", "RGGB", 1, "render_packed_quantized, 8-bit, 1 thread"),
             ("fast16", "RGGB", 2, "render_packed_quantized, 16-bit, 2 threads")]
    if args.xtrans:
        cases.append(("fast8", XTRANS_REFERENCE, 2, "render_packed_quantized, 8-bit, 2 threads (X-Trans)"))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for variant, cfa, workers, label in cases:
            repeat = 1 if variant == "reference" or cfa != "RGGB" else args.repeat
            command = [sys.executable, __file__, "--megapixels", str(args.megapixels), "--repeat", str(repeat),
                       "--child", variant, cfa, str(workers), folder]
            result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO,
                                               ).stdout.strip().splitlines()[-1])
            times = result["times"]
            rows.append({"render": label, "cfa": "X-Trans" if cfa != "RGGB" else "RGGB",
                         "megapixels": round(result["pixels"] / 1e6, 1), "runs": len(times),
                         "seconds_median": round(statistics.median(times), 3), "seconds_min": round(min(times), 3),
                         "seconds_max": round(max(times), 3),
                         "cpu_seconds_median": round(statistics.median(result["cpu"]), 3), "peak_rss_mb": round(result["peak_rss_mb"]),
                         "max_codes_apart_8bit": result["max_codes_apart_8bit"] if result["max_codes_apart_8bit"] >= 0
                         else ""})
            print(rows[-1], flush=True)
    before = rows[0]["seconds_median"]
    before_cpu = rows[0]["cpu_seconds_median"]
    for row in rows:
        row["speedup_vs_reference"] = round(before / row["seconds_median"], 1)
        row["cpu_speedup_vs_reference"] = round(before_cpu / row["cpu_seconds_median"], 1)
    write_results(
        "isp_speed", rows, title="Rendering a RAW-head output (24 MP) to sRGB: reference vs fast path",
        notes=("Input: a seeded random packed RGGB frame (6000×4000 mosaic), white balance 2:1:1.5, a Canon "
               "XYZ→camera matrix. Each row is a fresh process; peak RSS includes the 96 MB input. 'reference' = "
               "`isp.render_packed` (float64, frame-sized arrays, exact curve) then `writers.quantize` — what "
               "`lowlight enhance` did for a RAW-head model before; fast = `isp.render_packed_quantized` (float32 "
               "bands, Malvar on the packed planes, lookup-table curve), what it does now. max_codes_apart_8bit: "
               "largest difference from the reference's 8-bit output (tests/test_isp.py pins ≤ 1 code, 8 and 16 bits). "
               "The machine is shared (2 cores; training and other jobs may be running): "
               "cpu_seconds (the process's own user + system time) is the steadier column; wall seconds vary "
               "several-fold run to run (the reference took 45 s to 160 s in runs on the same day)."),
    )


if __name__ == "__main__":
    main()
