"""Side-by-side cost of the model presets: parameters, MACs per output megapixel (counted by
`keras_lowlight.models.count_macs`), Keras CPU latency and full-int8 TFLite latency.

    PYTHONPATH=. python benchmarks/models_speed.py --presets sid_unet mobile --cfa bayer --size 512

`--size` is the packed input side; 512 packed Bayer pixels → a 1024×1024 (≈1 MP) output.
Each preset that pads/crops inside (any H×W) is also timed as `<preset>/fixed`
(`models.without_size_adapters`, the graph for inputs that are multiples of
`models.input_multiple`). Latencies are medians over `--repeats` runs, measured in one process, interleaved per round so
that machine load hits every model alike; the ratios to the first preset are what to read.
int8: full-integer quantization (float32 I/O) calibrated on random [0, 1] crops, run with
`ai_edge_litert.interpreter.Interpreter(num_threads=2)`; every row records the int8 backend
(`xnnpack`, or `builtin` when XNNPACK refuses the graph) and the number of XNNPACK delegate nodes
in the allocated interpreter's graph (each covers one delegated partition of the ops).
`×faster (same kind)` compares like with like: any-size against the first preset's any-size
graph, `/fixed` against its `/fixed` graph.

Writes `benchmarks/results/models_speed_<cfa><--tag>.{md,csv}` (benchmarks/_results.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _results import write_results

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def to_int8_tflite(model, channels: int, crop: int = 128, samples: int = 8) -> bytes:
    """Full-int8 `.tflite` by the product's own converter (`keras_lowlight.export.convert`, what
    `lowlight convert` ships), calibrated on random [0, 1] crops: the weights are untrained, so
    there is no data to calibrate on."""
    import numpy as np

    from keras_lowlight import export

    rng = np.random.default_rng(0)
    crops = [rng.random((crop, crop, channels), dtype=np.float32) for _ in range(samples)]
    return export.convert(model, "int8", representative=crops, calibration_count=samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["sid_unet", "mobile"])
    parser.add_argument("--cfa", default="bayer", choices=["bayer", "xtrans"])
    parser.add_argument("--size", type=int, default=512, help="packed input side (H = W)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-int8", action="store_true")
    parser.add_argument("--no-fixed", action="store_true", help="skip the any_size=False variants")
    parser.add_argument("--seed", type=int, default=0, help="weight initialisation seed")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf
    import tqdm
    import keras

    from keras_lowlight import models

    # Untrained weights, fixed: with some draws every hidden unit of an SE bottleneck is dead
    # (zero after ReLU) on the calibration data, and XNNPACK then refuses the ~1e-8 int8 scale
    # ("failed to prepare") — an artefact of random weights worth knowing about at export time.
    keras.utils.set_random_seed(args.seed)
    variants = []
    for preset in args.presets:
        model = models.get(preset, cfa=args.cfa)
        variants.append((preset, model))
        if not args.no_fixed and any(type(l).__name__ in ("CropToMatch", "PadToMultiple") for l in model.layers):
            variants.append((f"{preset}/fixed", models.without_size_adapters(model)))
    names = [n for n, _ in variants]

    rows = {}
    keras_fns, interpreters = {}, {}
    for name, model in variants:
        channels = model.inputs[0].shape[-1]
        x = np.random.default_rng(1).random((1, args.size, args.size, channels), dtype=np.float32)
        fn = tf.function(lambda t, m=model: m(t, training=False), jit_compile=False)
        out = fn(x)
        rows[name] = {
            "params": model.count_params(),
            "gmacs_per_mp": models.macs_per_output_megapixel(model) / 1e9,
            "out": tuple(out.shape[1:3]),
        }
        keras_fns[name] = (fn, x)
        if not args.no_int8:
            t0 = time.perf_counter()
            flat = to_int8_tflite(model, channels)
            rows[name]["convert_s"] = time.perf_counter() - t0
            rows[name]["int8_kb"] = len(flat) / 1024
            it, backend = int8_interpreter(flat, x.shape, args.threads)
            index = it.get_input_details()[0]["index"]
            rows[name]["int8_backend"] = backend
            rows[name]["int8_xnnpack_partitions"] = sum(op["op_name"] == "DELEGATE" for op in it._get_ops_details())
            it.set_tensor(index, x)
            it.invoke()  # warm-up
            interpreters[name] = it
        print(f"built {name}: {rows[name]}", flush=True)

    keras_t = {n: [] for n in names}
    int8_t = {n: [] for n in interpreters}
    for _ in tqdm.trange(args.repeats, desc="timing rounds"):  # interleaved rounds
        for name in names:
            fn, x = keras_fns[name]
            t0 = time.perf_counter()
            fn(x).numpy()
            keras_t[name].append(time.perf_counter() - t0)
            if name in interpreters:
                t0 = time.perf_counter()
                interpreters[name].invoke()
                int8_t[name].append(time.perf_counter() - t0)

    ref = names[0]
    fixed_ref = f"{ref}/fixed" if f"{ref}/fixed" in names else ref
    m_ref = rows[ref]["gmacs_per_mp"]
    table = []
    for name in names:
        same_kind = fixed_ref if name.endswith("/fixed") else ref
        k, k_ref, k_same = (statistics.median(keras_t[n]) for n in (name, ref, same_kind))
        row = {"preset": name, "params": rows[name]["params"], "gmac_per_out_mp": rows[name]["gmacs_per_mp"],
               "x_fewer_macs": m_ref / rows[name]["gmacs_per_mp"], "keras_ms": k * 1e3,
               "keras_x_faster": k_ref / k, "keras_x_faster_same_kind": k_same / k}
        if name in int8_t:
            i, i_ref, i_same = (statistics.median(int8_t[n]) for n in (name, ref, same_kind))
            row.update(int8_ms=i * 1e3, int8_x_faster=i_ref / i, int8_x_faster_same_kind=i_same / i,
                       int8_backend=rows[name]["int8_backend"],
                       int8_xnnpack_partitions=rows[name]["int8_xnnpack_partitions"])
        table.append(row)
    lines = ["| preset | params | GMAC/MP | ×fewer | keras ms | ×faster | ×faster (same kind) | int8 ms | ×faster "
             "| ×faster (same kind) | int8 backend | XNNPACK delegate nodes |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    for r in table:
        lines.append(
            f"| {r['preset']} | {r['params']:,} | {r['gmac_per_out_mp']:.2f} | {r['x_fewer_macs']:.2f} | "
            f"{r['keras_ms']:.1f} | {r['keras_x_faster']:.2f} | {r['keras_x_faster_same_kind']:.2f} | "
            + (f"{r['int8_ms']:.1f} | {r['int8_x_faster']:.2f} | {r['int8_x_faster_same_kind']:.2f} | "
               f"{r['int8_backend']} | {r['int8_xnnpack_partitions']} |" if "int8_ms" in r else " | | | | |"))
    text = "\n".join(lines)
    notes = (f"cfa={args.cfa}, packed input {args.size}×{args.size}, output {rows[ref]['out'][0]}×{rows[ref]['out'][1]}, "
             f"untrained weights (seed {args.seed}), medians of {args.repeats} interleaved rounds, "
             f"int8 LiteRT threads={args.threads}. Ratios: to `{ref}`; same kind: any-size to `{ref}`, "
             f"`/fixed` to `{fixed_ref}`.")
    print(notes)
    print(text)
    write_results(f"models_speed_{args.cfa}{args.tag}", table, title=f"Model presets: cost and latency ({args.cfa})",
                  notes=notes, markdown=text)


def int8_interpreter(flat: bytes, shape: tuple, threads: int):
    """An allocated interpreter and the backend it got: XNNPACK, or builtin kernels when XNNPACK
    refuses the graph (as `keras_lowlight.runtime.engine.LiteRTEngine` falls back)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    for backend, resolver in (("xnnpack", OpResolverType.AUTO),
                              ("builtin", OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)):
        it = Interpreter(model_content=flat, num_threads=threads, experimental_op_resolver_type=resolver)
        it.resize_tensor_input(it.get_input_details()[0]["index"], shape)
        try:
            it.allocate_tensors()
            return it, backend
        except RuntimeError as e:
            if backend != "xnnpack":
                raise
            print(f"XNNPACK refused the graph: {str(e).strip()[:120]}", flush=True)
    raise AssertionError("unreachable")


if __name__ == "__main__":
    main()
