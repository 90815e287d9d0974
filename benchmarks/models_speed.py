"""Side-by-side cost of the model presets: parameters, MACs per output megapixel (counted by
`keras_lowlight.models.count_macs`), Keras CPU latency and full-int8 TFLite latency.

    PYTHONPATH=. python benchmarks/models_speed.py --presets sid_unet mobile --cfa bayer --size 512

`--size` is the packed input side; 512 packed Bayer pixels → a 1024×1024 (≈1 MP) output.
Each preset that pads/crops inside (any H×W) is also timed as `<preset>/fixed`
(`models.without_size_adapters`, the graph for inputs that are multiples of
`models.input_multiple`). Latencies are medians over `--repeats` runs, measured in one process, interleaved per round so
that machine load hits every model alike; the ratios to the first preset are what to read.
int8: full-integer quantization (float32 I/O) calibrated on random [0, 1] crops, run with
`ai_edge_litert.interpreter.Interpreter(num_threads=2)`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def to_int8_tflite(model, channels: int, crop: int = 128, samples: int = 8) -> bytes:
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)

    def representative():
        for _ in range(samples):
            yield [rng.random((1, crop, crop, channels), dtype=np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()


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
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf
    import tqdm
    from ai_edge_litert.interpreter import Interpreter

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
            it = Interpreter(model_content=flat, num_threads=args.threads)
            index = it.get_input_details()[0]["index"]
            it.resize_tensor_input(index, x.shape)
            it.allocate_tensors()
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
    k_ref = statistics.median(keras_t[ref])
    i_ref = statistics.median(int8_t[ref]) if ref in int8_t else None
    m_ref = rows[ref]["gmacs_per_mp"]
    print(f"\ncfa={args.cfa}  packed input {args.size}×{args.size}  output {rows[ref]['out']}  "
          f"threads(int8)={args.threads}  cpus={os.cpu_count()}")
    print(f"{'preset':<18}{'params':>11}{'GMAC/MP':>10}{'×fewer':>8}{'keras ms':>10}{'×faster':>9}"
          f"{'int8 ms':>9}{'×faster':>9}")
    for name in names:
        k = statistics.median(keras_t[name])
        line = (f"{name:<18}{rows[name]['params']:>11,}{rows[name]['gmacs_per_mp']:>10.2f}"
                f"{m_ref / rows[name]['gmacs_per_mp']:>8.2f}{k * 1e3:>10.1f}{k_ref / k:>9.2f}")
        if name in int8_t:
            i = statistics.median(int8_t[name])
            line += f"{i * 1e3:>9.1f}{i_ref / i:>9.2f}"
        print(line)


if __name__ == "__main__":
    main()
