"""Keras model → `.tflite` for LiteRT, in five numeric modes, builtin ops only.

Every file written here has the same face: one signature `enhance`, input `packed_raw`
float32 (1, H, W, C) with dynamic H and W, output `srgb` float32 (1, s·H, s·W, 3) — or, for a
RAW-head model, output `raw` float32 (1, H, W, C), the clean packed RAW to render. Quantized
modes keep float32 I/O (QUANTIZE/DEQUANTIZE sit inside the graph), so the phone client and
`keras_lowlight.runtime.engine` never care which mode they run.

Why not `model.export(format="litert")`: Keras 3.15 turns on SELECT_TF_OPS by default, and a
Flex op only fails later on the phone. Here the op set is builtin only, so an unsupported op
fails at conversion time.

Modes:
    float32   plain conversion.
    float16   weights stored as float16 (dequantized at load; XNNPACK may run fp16).
    dynamic   dynamic-range: int8 weights, activations quantized on the fly per op.
    int8      full-integer: int8 weights and activations, calibrated on representative crops.
    int16x8   int16 activations, int8 weights: ai-edge-quantizer's `static_wi8_ai16` recipe
              applied to the float32 `.tflite` (same calibration crops).
"""

from __future__ import annotations

import itertools
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from keras_lowlight.runtime.conventions import (  # noqa: F401  (re-exported; one home for the .tflite face)
    INPUT_NAME,
    OUTPUT_NAME,
    OUTPUT_NAMES,
    RAW_OUTPUT_NAME,
    SIGNATURE_KEY,
)
from keras_lowlight.runtime.errors import LowlightError
from keras_lowlight.runtime.files import write_atomically

MODES = ("float32", "float16", "dynamic", "int8", "int16x8")
DEFAULT_CALIBRATION_COUNT = 200

Representative = Iterable[np.ndarray] | Callable[[], Iterable[np.ndarray]]


class ExportError(LowlightError):
    """A model or `.tflite` file that cannot be converted, read or run."""


# === Loading ===


def load_keras_model(path: str | os.PathLike) -> Any:
    """Loads a `.keras` model with the project's registered layers, or raises one-line errors."""
    path = Path(path)
    if not path.exists():
        raise ExportError(f"{path}: no such file")
    if path.suffix != ".keras":
        raise ExportError(f"{path}: expected a Keras 3 `.keras` model file")
    if path.is_file() and not zipfile.is_zipfile(path):
        raise ExportError(f"{path}: not a loadable Keras model (not a zip archive: truncated, corrupt or another format)")
    import keras

    import keras_lowlight.models  # noqa: F401  (registers the custom layers)
    from keras_lowlight.models import layers as _layers  # noqa: F401

    try:
        # safe_mode: a file may not run code on load (no lambda deserialisation): untrusted models are data.
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # zip/JSON/unknown-layer errors all mean "not a usable model"
        if "arbitrary code execution" in str(e):
            raise ExportError(f"{path}: refused: it holds Python code (a lambda); model files are loaded in "
                              "safe mode only, as data") from None
        first_line = (str(e).strip().splitlines() or [""])[0][:200]
        raise ExportError(f"{path}: not a loadable Keras model ({type(e).__name__}: {first_line})") from None


def read_tflite(path: str | os.PathLike) -> bytes:
    """The bytes of a `.tflite` file, checked to be a TFLite flatbuffer (identifier `TFL3`)."""
    from keras_lowlight.runtime.engine import RuntimeInputError, read_tflite as read_checked

    try:
        return read_checked(path)
    except RuntimeInputError as e:
        raise ExportError(str(e)) from None


# === Calibration data ===


def calibration_batches(representative: Representative, count: int | None = None) -> list[np.ndarray]:
    """Materialises up to `count` float32 arrays shaped (1, h, w, C) from an iterable or a
    callable returning one. A list, so both the TFLite converter and ai-edge-quantizer can use it."""
    source = representative() if callable(representative) else representative
    if count is not None:
        source = itertools.islice(source, count)
    batches = []
    for x in source:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4:
            raise ExportError(f"representative crops must be (h, w, C) or (n, h, w, C); got shape {x.shape}")
        batches.extend(x[i : i + 1] for i in range(x.shape[0]))
    if not batches:
        raise ExportError("the representative dataset is empty; int8/int16x8 need calibration crops")
    return batches


# === Conversion ===


def _model_channels(model) -> int:
    shape = model.inputs[0].shape
    if shape[-1] is None:
        raise ExportError(f"model {model.name!r} has no fixed channel count on its input")
    return int(shape[-1])


def _saved_model_with_signature(model, directory: str, static_tile: int | None = None) -> None:
    """Writes a SavedModel whose only signature is `enhance(packed_raw) -> {srgb}`, with dynamic H/W
    (or a fixed `static_tile`² input, for runtimes that compile one shape: LiteRT.js, CompiledModel).

    A SavedModel (rather than `from_keras_model`) is the way to give TFLite a named signature with
    named input and output; the batch is fixed at 1, what a phone runs.
    """
    import keras
    import tensorflow as tf

    from keras_lowlight.models import head_of

    channels = _model_channels(model)
    output_name = output_name_for(head_of(model))

    def enhance(packed_raw):
        return {output_name: tf.cast(model(packed_raw, training=False), tf.float32)}

    # ExportArchive tracks the Keras 3 variables so the converter can freeze them into constants.
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        SIGNATURE_KEY, enhance,
        input_signature=[tf.TensorSpec((1, static_tile, static_tile, channels), tf.float32, name=INPUT_NAME)],
    )
    archive.write_out(directory, verbose=False)


def output_name_for(head: str) -> str:
    """The `.tflite` output name of a head: `srgb` or `raw`."""
    return RAW_OUTPUT_NAME if head == "raw" else OUTPUT_NAME


def _converter_for(model, directory: str, static_tile: int | None = None):
    import tensorflow as tf

    _saved_model_with_signature(model, directory, static_tile)
    converter = tf.lite.TFLiteConverter.from_saved_model(directory, signature_keys=[SIGNATURE_KEY])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter


def conversion_error(mode: str, error: Exception) -> ExportError:
    """One line from a ConverterError: the TF ops without a builtin, else the first line."""
    text = str(error).strip()
    unsupported = sorted(set(re.findall(r"'(tf\.\w+)' op is neither a custom op nor a flex op", text)))
    if unsupported:
        return ExportError(
            f"TFLite conversion ({mode}) failed: {', '.join(unsupported)} has no TFLite builtin op "
            "(Flex/SELECT_TF_OPS is deliberately off: the phone runtime cannot run it)"
        )
    first = text.splitlines()[0] if text else type(error).__name__
    return ExportError(f"TFLite conversion ({mode}) failed with builtin ops only: {first[:300]}")


def _run_converter(converter, mode: str) -> bytes:
    try:
        return converter.convert()
    except Exception as e:  # ConverterError carries the MLIR diagnostics
        raise conversion_error(mode, e) from e


def convert(
    model,
    mode: str = "float32",
    representative: Representative | None = None,
    calibration_count: int = DEFAULT_CALIBRATION_COUNT,
    size_adapters: bool = True,
    static_tile: int | None = None,
) -> bytes:
    """Converts a Keras 3 model to a `.tflite` flatbuffer in `mode` (see module docstring).

    Args:
        model: a Keras model with one input (N, H, W, C) and one output.
        mode: one of `MODES`.
        representative: for `int8` and `int16x8`: an iterable (or a callable returning one) of
            packed float32 crops (h, w, C) or (1, h, w, C), e.g.
            `keras_lowlight.data.representative_crops(...)`.
        calibration_count: at most this many crops are used.
        size_adapters: keep the model's pad/crop layers (any H×W works). False converts
            `models.without_size_adapters(model)`: H and W must then be multiples of
            `models.input_multiple(model)` (the tiler guarantees it), and XNNPACK runs the graph
            much faster because no tensor shape depends on a run-time pad.
        static_tile: fix the input to (1, static_tile, static_tile, C) for runtimes that compile
            one shape (LiteRT.js, Android's CompiledModel); tile with exactly that size
            (`runtime.enhance_frame(..., shrink=False)`).
    """
    if mode not in MODES:
        raise ExportError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    import tensorflow as tf

    if not size_adapters:
        from keras_lowlight.models import without_size_adapters

        model = without_size_adapters(model)

    calibration = None
    if mode in ("int8", "int16x8"):
        if representative is None:
            raise ExportError(f"mode {mode} needs a representative dataset (calibration crops)")
        calibration = calibration_batches(representative, calibration_count)
        channels = _model_channels(model)
        if calibration[0].shape[-1] != channels:
            raise ExportError(
                f"representative crops have {calibration[0].shape[-1]} channels, the model takes {channels}"
            )

    with tempfile.TemporaryDirectory(prefix="lowlight-export-") as directory:
        converter = _converter_for(model, directory, static_tile)
        if mode == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif mode == "dynamic":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        elif mode == "int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([x] for x in calibration)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.float32
            converter.inference_output_type = tf.float32
        flatbuffer = _run_converter(converter, mode)

    if mode == "int16x8":
        flatbuffer = quantize_int16x8(flatbuffer, calibration)
    check_builtin_only(flatbuffer, mode)
    return flatbuffer


def quantize_int16x8(float_flatbuffer: bytes, calibration: list[np.ndarray]) -> bytes:
    """int16 activations / int8 weights with ai-edge-quantizer's `static_wi8_ai16` recipe.

    ai-edge-quantizer works on the float `.tflite` itself (it calibrates by running LiteRT), so
    the result keeps the `enhance` signature and float32 I/O of the float model.
    """
    try:
        from ai_edge_quantizer import qtyping, quantizer, recipe
        from ai_edge_quantizer.algorithm_manager import AlgorithmName
    except ImportError as e:
        raise ExportError("mode int16x8 needs the `ai-edge-quantizer` package (pip install ai-edge-quantizer)") from e

    # ai-edge-quantizer allocates the graph at its stored input shape before feeding samples; a
    # dynamic-size graph stores (1, 1, 1, C), on which SPACE_TO_DEPTH (mobile) cannot prepare.
    original_shape = _input_shape(float_flatbuffer)
    float_flatbuffer = _with_input_shape(float_flatbuffer, calibration[0].shape)
    qt = quantizer.Quantizer(bytearray(float_flatbuffer), recipe.static_wi8_ai16())
    # The recipe also quantizes the graph's input and output tensors (int16 I/O); keep them
    # float32 as every `.tflite` of the project, so QUANTIZE/DEQUANTIZE land inside the graph.
    for boundary in (qtyping.TFLOperationName.INPUT, qtyping.TFLOperationName.OUTPUT):
        qt.update_quantization_recipe(".*", boundary, algorithm_key=AlgorithmName.NO_QUANTIZE)
    samples = [{INPUT_NAME: x} for x in calibration]
    try:
        calibration_result = qt.calibrate({SIGNATURE_KEY: samples}, num_threads=2)
        result = qt.quantize(calibration_result, enable_progress_report=False)
    except Exception as e:
        raise ExportError(f"int16x8 quantization failed: {type(e).__name__}: {e}") from e
    return _with_input_shape(bytes(result.quantized_model), original_shape)


def _input_shape(flatbuffer: bytes) -> tuple[int, ...]:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    graph = model.subgraphs[0]
    return tuple(int(d) for d in graph.tensors[graph.inputs[0]].shape)


def _with_input_shape(flatbuffer: bytes, shape) -> bytes:
    """The same model with its input tensor's stored (default) shape set to `shape`; the shape
    signature (-1 for dynamic H, W) is untouched."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    graph = model.subgraphs[0]
    graph.tensors[graph.inputs[0]].shape = np.asarray(shape, np.int32)
    builder = flatbuffers.Builder(len(flatbuffer) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def name_signature(flatbuffer: bytes, output_name: str = OUTPUT_NAME) -> bytes:
    """Renames a single-signature `.tflite`'s signature to `enhance(packed_raw) -> srgb` (or `-> raw`).

    For graphs that must be converted from a frozen concrete function (whose signature the
    converter calls `serving_default`, with tensor-derived names).
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    if not model.signatureDefs:  # a frozen graph has none: describe subgraph 0's input and output
        graph = model.subgraphs[0]
        if len(graph.inputs) != 1 or len(graph.outputs) != 1:
            raise ExportError("expected a graph with one input and one output to name its signature")
        signature = schema.SignatureDefT()
        signature.subgraphIndex = 0
        signature.inputs, signature.outputs = [schema.TensorMapT()], [schema.TensorMapT()]
        signature.inputs[0].tensorIndex = int(graph.inputs[0])
        signature.outputs[0].tensorIndex = int(graph.outputs[0])
        model.signatureDefs = [signature]
    signatures = model.signatureDefs
    if len(signatures) != 1 or len(signatures[0].inputs or []) != 1 or len(signatures[0].outputs or []) != 1:
        raise ExportError("expected exactly one signature with one input and one output to rename")
    signature = signatures[0]
    signature.signatureKey = SIGNATURE_KEY
    signature.inputs[0].name = INPUT_NAME
    signature.outputs[0].name = output_name
    builder = flatbuffers.Builder(len(flatbuffer) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


# === Inspection ===


def tflite_op_names(model: bytes | str | os.PathLike) -> list[str]:
    """Sorted unique op names of a `.tflite` (from the LiteRT interpreter), e.g. ['CONV_2D', ...].

    Flex ops show up as `FlexXxx` / `DELEGATE` and custom ops by their custom name, so a check
    against this list catches anything a stock LiteRT runtime cannot run.
    """
    from ai_edge_litert.interpreter import Interpreter

    data = model if isinstance(model, (bytes, bytearray)) else read_tflite(model)
    try:
        # Without delegates: XNNPACK would replace ops with DELEGATE nodes in this listing.
        interpreter = Interpreter(
            model_content=bytes(data),
            experimental_op_resolver_type=_builtin_resolver(),
            experimental_preserve_all_tensors=False,
        )
    except (ValueError, RuntimeError) as e:
        raise ExportError(f"LiteRT cannot load the model: {str(e).strip().splitlines()[0]}") from None
    return sorted({op["op_name"] for op in interpreter._get_ops_details()})


def _builtin_resolver():
    from ai_edge_litert.interpreter import OpResolverType

    return OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES


def non_builtin_ops(op_names: Iterable[str]) -> list[str]:
    """The ops of a listing that are not TFLite builtins (Flex, custom, delegate nodes)."""
    from ai_edge_litert import schema_py_generated as schema

    names = {n for n in dir(schema.BuiltinOperator) if n.isupper()}
    return sorted(op for op in op_names if op not in names or op.startswith("Flex") or op == "CUSTOM")


def check_builtin_only(flatbuffer: bytes, mode: str) -> None:
    """Raises if the converted model holds any op a stock LiteRT runtime lacks."""
    bad = non_builtin_ops(tflite_op_names(flatbuffer))
    if bad:
        raise ExportError(f"conversion ({mode}) produced non-builtin ops: {', '.join(bad)}")


def describe_tflite(model: bytes | str | os.PathLike) -> dict[str, Any]:
    """Signature, input/output names and dtypes and op names of a `.tflite` — what tests and the
    report check."""
    from ai_edge_litert.interpreter import Interpreter

    data = model if isinstance(model, (bytes, bytearray)) else read_tflite(model)
    interpreter = Interpreter(model_content=bytes(data), experimental_op_resolver_type=_builtin_resolver())
    signatures = interpreter.get_signature_list()
    return {"signatures": signatures, "ops": tflite_op_names(data), "size_bytes": len(data)}


# === Files ===


def convert_file(
    model_path: str | os.PathLike,
    output: str | os.PathLike,
    mode: str = "float32",
    representative: Representative | None = None,
    calibration_count: int = DEFAULT_CALIBRATION_COUNT,
    size_adapters: bool = True,
) -> Path:
    """`.keras` file → `.tflite` file (atomic write). Returns the output path."""
    if mode not in MODES:
        raise ExportError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    model = load_keras_model(model_path)
    flatbuffer = convert(
        model, mode, representative=representative, calibration_count=calibration_count, size_adapters=size_adapters
    )
    return write_atomically(output, flatbuffer)


def synthetic_crops(channels: int, count: int = 64, crop: int = 64, seed: int = 0) -> Iterator[np.ndarray]:
    """Stand-in calibration crops (dark, clipped, noisy) when no dataset is at hand — only for
    development; real calibration must use `keras_lowlight.data.representative_crops`."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        level = rng.uniform(0.02, 0.5)
        x = np.clip(rng.normal(level, level * 0.5, size=(1, crop, crop, channels)), 0.0, 1.0)
        yield x.astype(np.float32)
