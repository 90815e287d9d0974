"""Full-frame inference through one tiler, with LiteRT (`.tflite`) or a Keras model.

A Sony frame packs to 2128×1424×4; running it in one piece needs activations for the whole
frame (gigabytes for ResNet-SE). The tiler cuts the packed frame into overlapping tiles of one
fixed size, runs each, and keeps only each tile's core — so peak memory follows the tile size,
not the frame size (only the output buffer s·H × s·W × 3 float32 is frame-sized).

Exactness: a convolutional network's output at a pixel depends only on a window of input (its
receptive field). With `overlap` ≥ that window's radius and tile origins on the model's input
multiple (so a U-Net's poolings see the same grid), tiled output equals untiled output away from
the frame border. Layers with a GLOBAL view — Squeeze-and-Excitation's global average pool —
break this: each tile computes its own channel statistics, so SE models agree with untiled
inference only approximately (usually closely on natural images, never bit-for-bit).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from keras_lowlight.runtime import modelcheck
from keras_lowlight.runtime.conventions import (
    DEFAULT_OVERLAP,
    DEFAULT_TILE,
    INPUT_NAME,
    OUTPUT_NAMES,
    RAW_OUTPUT_NAME,
    SCALE_FOR_CHANNELS,
    SIGNATURE_KEY,
)
from keras_lowlight.runtime.errors import LowlightError


class RuntimeInputError(LowlightError):
    """A frame or model that the tiler cannot run."""


class TileEngine(Protocol):
    """What the tiler needs from a backend: run one (1, h, w, C) tile → (1, s·h, s·w, out_channels).

    sRGB head: s = 2 or 3, out_channels = 3. RAW head: s = 1, out_channels = C (the packed RAW).
    """

    channels: int
    scale: int
    multiple: int
    head: str
    out_channels: int

    def run(self, tile: np.ndarray) -> np.ndarray: ...


# File descriptor 2 is one per process: two threads swapping it at once (two batch lanes creating
# their interpreters) could each save the other's capture file as "the original" and leave stderr
# pointing at a deleted temporary file for the rest of the run (seen: a batch's error lines lost).
_FD2_SWAP = threading.Lock()


@contextlib.contextmanager
def quiet_native_info():
    """Drops LiteRT's native INFO lines ("Created TensorFlow Lite XNNPACK delegate", printed on every
    interpreter whatever TF_CPP_MIN_LOG_LEVEL says) from file descriptor 2 while the block runs;
    every other line written there (warnings, errors — other threads' too) is passed on when the
    block ends. One thread at a time (`_FD2_SWAP`)."""
    with _FD2_SWAP:
        with _native_info_dropped():
            yield


@contextlib.contextmanager
def _native_info_dropped():
    from keras_lowlight.runtime.quiet import is_noise

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded interpreters): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().splitlines(keepends=True)
                    if not is_noise(line)]
            if kept:
                sys.stderr.flush()
                os.write(2, b"".join(kept))


def _scale_for(channels: int) -> int:
    if channels not in SCALE_FOR_CHANNELS:
        raise RuntimeInputError(f"model takes {channels} input channels; expected 4 (Bayer) or 9 (X-Trans)")
    return SCALE_FOR_CHANNELS[channels]


def _output_geometry(channels: int, head: str) -> tuple[int, int]:
    """(scale, output channels): ×s sRGB for the sRGB head, the packed RAW itself for the RAW head."""
    scale = _scale_for(channels)
    return (1, channels) if head == "raw" else (scale, 3)


class LiteRTEngine:
    """A `.tflite` with the project's `enhance` signature on the LiteRT interpreter (XNNPACK).

    One interpreter per tile shape (an LRU of `max_shapes`), each resized once with
    `resize_tensor_input`: the tiler feeds one shape almost always, so tensors are allocated once.

    Args:
        model: path of a `.tflite` file or its bytes.
        num_threads: XNNPACK threads.
        multiple: tile sizes are rounded to this; 16 suits every preset (U-Net needs 16).
    """

    def __init__(self, model: str | os.PathLike | bytes, num_threads: int = 2, multiple: int = 16, max_shapes: int = 2):
        self.content = bytes(model) if isinstance(model, (bytes, bytearray)) else read_tflite(model)
        self.num_threads = num_threads
        self.multiple = int(multiple)
        self.max_shapes = max_shapes
        self.backend = "xnnpack"  # becomes "builtin" if XNNPACK refuses the graph
        self._interpreters: OrderedDict[tuple[int, ...], tuple[Any, int, int]] = OrderedDict()
        probe = self._new_interpreter()
        signatures = probe.get_signature_list()
        if SIGNATURE_KEY not in signatures:
            raise RuntimeInputError(f"the .tflite has no `{SIGNATURE_KEY}` signature (has: {sorted(signatures)})")
        runner = probe.get_signature_runner(SIGNATURE_KEY)
        inputs, outputs = runner.get_input_details(), runner.get_output_details()
        output_name = next((name for name in OUTPUT_NAMES if name in outputs), None)
        if INPUT_NAME not in inputs or output_name is None:
            raise RuntimeInputError(
                f"the `{SIGNATURE_KEY}` signature must map {INPUT_NAME} → {' or '.join(OUTPUT_NAMES)}; "
                f"it has {sorted(inputs)} → {sorted(outputs)}"
            )
        problem = modelcheck.tflite_problem(inputs[INPUT_NAME], outputs[output_name])
        if problem:
            raise RuntimeInputError(f"not a low-light RAW model: {problem}")
        self._input_index = inputs[INPUT_NAME]["index"]
        self._output_index = outputs[output_name]["index"]
        shape_signature = inputs[INPUT_NAME]["shape_signature"]
        self.channels = int(shape_signature[-1])
        self.head = "raw" if output_name == RAW_OUTPUT_NAME else "srgb"
        self.scale, self.out_channels = _output_geometry(self.channels, self.head)

    def _new_interpreter(self):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = OpResolverType.AUTO if self.backend == "xnnpack" else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        try:
            with quiet_native_info():
                return Interpreter(
                    model_content=self.content, num_threads=self.num_threads, experimental_op_resolver_type=resolver
                )
        except (ValueError, RuntimeError) as e:
            raise RuntimeInputError(f"LiteRT cannot load the model: {str(e).strip().splitlines()[0]}") from None

    def _allocated(self, shape: tuple[int, ...]):
        interpreter = self._new_interpreter()
        interpreter.resize_tensor_input(self._input_index, list(shape), strict=False)
        with quiet_native_info():
            interpreter.allocate_tensors()
        return interpreter

    def _interpreter_for(self, shape: tuple[int, ...]):
        if shape in self._interpreters:
            self._interpreters.move_to_end(shape)
            return self._interpreters[shape]
        try:
            interpreter = self._allocated(shape)
        except RuntimeError as e:
            if self.backend != "xnnpack" or "XNNPACK" not in str(e):
                raise RuntimeInputError(f"LiteRT cannot prepare a {shape} input: {str(e).strip()[:200]}") from None
            # XNNPACK refuses some quantized graphs (e.g. an int8 conv whose calibrated output range
            # collapsed to ~0: a dead ReLU channel group). Builtin kernels still run them, slower.
            warnings.warn(f"XNNPACK refused this model ({str(e).strip()[:120]}); using builtin kernels")
            self.backend = "builtin"
            self._interpreters.clear()
            interpreter = self._allocated(shape)
        self._interpreters[shape] = interpreter
        while len(self._interpreters) > self.max_shapes:
            self._interpreters.popitem(last=False)
        return interpreter

    def run(self, tile: np.ndarray) -> np.ndarray:
        interpreter = self._interpreter_for(tuple(tile.shape))
        interpreter.set_tensor(self._input_index, np.ascontiguousarray(tile, dtype=np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(self._output_index)


def read_tflite(path: str | os.PathLike) -> bytes:
    """The bytes of a `.tflite` file, checked to be a TFLite flatbuffer (identifier `TFL3`)."""
    path = Path(path)
    if not path.is_file():
        raise RuntimeInputError(f"{path}: no such file")
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise RuntimeInputError(f"{path}: not a TFLite model (no TFL3 flatbuffer identifier)")
    return data


def _keras_engine_module():
    """`keras_lowlight.export.keras_engine`, imported by name: the Keras backend lives outside this
    TensorFlow-free layer, and only a `.keras` file (never a `.tflite`) reaches for it."""
    import importlib

    return importlib.import_module("keras_lowlight.export.keras_engine")


def __getattr__(name: str):  # `runtime.KerasEngine` keeps working for existing callers
    if name == "KerasEngine":
        return _keras_engine_module().KerasEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_engine(path: str | os.PathLike, num_threads: int = 2, multiple: int | None = None) -> TileEngine:
    """`.tflite` → LiteRTEngine, `.keras` → KerasEngine (which imports TensorFlow)."""
    path = Path(path)
    if not path.exists():
        raise RuntimeInputError(f"{path}: no such file")
    if path.suffix not in (".tflite", ".keras"):
        raise RuntimeInputError(f"{path}: expected a .tflite or .keras model")
    try:
        if path.suffix == ".tflite":
            return LiteRTEngine(path, num_threads=num_threads, multiple=multiple or 16)
        return _keras_engine_module().KerasEngine(path, multiple=multiple)
    except LowlightError as e:  # every model-file error names the file
        raise RuntimeInputError(str(e) if str(path) in str(e) else f"{path}: {e}") from None


# === Tiling ===


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def tile_plan(size: int, tile: int, overlap: int, multiple: int, shrink: bool = True) -> tuple[int, int, int]:
    """(tile, overlap, core) along one axis, aligned to `multiple`, shrunk for small frames.

    Tile origins fall on multiples of `multiple` in frame coordinates (core and overlap are both
    multiples), which keeps a pooling network's grid identical to untiled inference.
    """
    overlap = _round_up(max(0, int(overlap)), multiple)
    tile = _round_up(max(1, int(tile)), multiple)
    if tile <= 2 * overlap:
        raise RuntimeInputError(
            f"tile {tile} leaves no core with overlap {overlap} on each side (after aligning to {multiple}); "
            f"use a tile > {2 * overlap}"
        )
    if shrink:
        tile = min(tile, _round_up(size, multiple) + 2 * overlap)  # a small frame needs one small tile
    return tile, overlap, tile - 2 * overlap


TileSink = Callable[[int, int, np.ndarray], None]


def enhance_frame(
    engine: TileEngine,
    packed: np.ndarray,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    progress: bool = False,
    shrink: bool = True,
    sink: TileSink | None = None,
) -> np.ndarray | None:
    """Enhances a full packed frame (H, W, C) tile by tile → (s·H, s·W, 3) float32 (not clipped);
    for a RAW-head engine (H, W, C), the clean packed RAW.

    The frame is mirror-padded by `overlap` (and up to the tile grid), every tile has the same
    shape (one interpreter allocation), and each tile contributes only its core. `shrink=False`
    keeps tiles at exactly `tile` even for a small frame (for models with a static input shape).

    The padding is never materialised: each tile gathers its rows and columns through the index
    map `np.pad(arange, mode="symmetric")` (the same pixels as padding the frame). With `sink`,
    each core is handed to `sink(y, x, core)` (output coordinates, float32) instead of being
    stored, and None is returned: a caller rendering straight to integers needs no float frame.
    """
    packed = np.asarray(packed)
    if packed.ndim == 4 and packed.shape[0] == 1:
        packed = packed[0]
    if packed.ndim != 3:
        raise RuntimeInputError(f"expected a packed frame (H, W, C); got shape {packed.shape}")
    h, w, c = packed.shape
    if c != engine.channels:
        raise RuntimeInputError(f"frame has {c} channels but the model takes {engine.channels}")
    if h < 1 or w < 1:
        raise RuntimeInputError(f"empty frame of shape {packed.shape}")
    if not np.issubdtype(packed.dtype, np.floating):
        raise RuntimeInputError(f"expected a float frame (normalised, amplified, clipped); got {packed.dtype}")
    # Engines written before the RAW head (no `out_channels`) are sRGB engines: 3 channels.
    m, s, out_c = engine.multiple, engine.scale, getattr(engine, "out_channels", 3)
    tile_h, over_h, core_h = tile_plan(h, tile, overlap, m, shrink)
    tile_w, over_w, core_w = tile_plan(w, tile, overlap, m, shrink)
    rows, cols = math.ceil(h / core_h), math.ceil(w / core_w)
    row_index = np.pad(np.arange(h), (over_h, rows * core_h - h + over_h), mode="symmetric")
    col_index = np.pad(np.arange(w), (over_w, cols * core_w - w + over_w), mode="symmetric")
    out = None
    if sink is None:
        out = np.empty((h * s, w * s, out_c), np.float32)

        def sink(y: int, x: int, core: np.ndarray) -> None:
            out[y : y + core.shape[0], x : x + core.shape[1]] = core

    steps = [(r, q) for r in range(rows) for q in range(cols)]
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc="tiles", unit="tile")
    tile_buffer = np.empty((1, tile_h, tile_w, c), np.float32)
    band, band_row = None, -1
    for r, q in steps:
        y0, x0 = r * core_h, q * core_w  # tile origin in padded coords = core origin in frame coords
        if r != band_row:  # the (tile_h, W, C) band of this tile row, gathered once per row
            band = packed[row_index[y0 : y0 + tile_h]].astype(np.float32, copy=False)
            band_row = r
        np.take(band, col_index[x0 : x0 + tile_w], axis=1, out=tile_buffer[0], mode="clip")
        result = engine.run(tile_buffer)
        if result.shape != (1, tile_h * s, tile_w * s, out_c):
            raise RuntimeInputError(
                f"model returned {tuple(result.shape)} for a {tile_h}×{tile_w} tile; expected ×{s} and {out_c} channels"
            )
        ch, cw = min(core_h, h - y0), min(core_w, w - x0)
        sink(y0 * s, x0 * s, result[0, over_h * s : (over_h + ch) * s, over_w * s : (over_w + cw) * s])
    return out


def enhance_untiled(engine: TileEngine, packed: np.ndarray) -> np.ndarray:
    """The whole frame in one call (reference for tests; memory grows with the frame)."""
    packed = np.asarray(packed, np.float32)
    return engine.run(packed[None])[0]
