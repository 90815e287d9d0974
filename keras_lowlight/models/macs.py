"""Multiply-accumulate counts, measured by walking a model's layers.

Every convolution-like layer (also those nested inside `ResidualBlock` / `SqueezeExcite`) is
found by a recursive walk; the spatial size each one sees comes from tracing the model once on
a concrete (1, H, W, C) input in a `tf.function` (a trace, no arithmetic), recording each
layer's input and output shapes. Bias additions, activations, pooling and the SE multiply are
not counted (they are O(H·W·C), small next to the convolutions).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

_COUNTED = ("Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "Dense")


def _walk(layer) -> Iterator[Any]:
    """Yields every sub-layer, depth first (Keras 3 keeps sub-layers in `_layers`)."""
    for sub in getattr(layer, "_layers", []):
        yield sub
        yield from _walk(sub)


def _layer_macs(layer, in_shape, out_shape) -> int:
    kind = type(layer).__name__
    if kind == "Conv2D":
        kh, kw = layer.kernel_size
        cin = int(in_shape[-1]) // getattr(layer, "groups", 1)
        return int(out_shape[1]) * int(out_shape[2]) * kh * kw * cin * layer.filters
    if kind == "Conv2DTranspose":  # each input pixel scatters a kh×kw×Cout patch
        kh, kw = layer.kernel_size
        return int(in_shape[1]) * int(in_shape[2]) * kh * kw * int(in_shape[-1]) * layer.filters
    if kind == "DepthwiseConv2D":
        kh, kw = layer.kernel_size
        return int(out_shape[1]) * int(out_shape[2]) * kh * kw * int(in_shape[-1]) * layer.depth_multiplier
    if kind == "Dense":
        positions = 1
        for d in in_shape[1:-1]:
            positions *= int(d)
        return positions * int(in_shape[-1]) * layer.units
    return 0


@contextlib.contextmanager
def _recording(layers, shapes: dict[int, tuple]):
    """Temporarily wraps `call` of the given layers to record (input shape, output shape)."""
    patched = []
    for layer in layers:
        original = layer.call

        def call(inputs, *args, __layer=layer, __original=original, **kwargs):
            outputs = __original(inputs, *args, **kwargs)
            shapes[id(__layer)] = (tuple(inputs.shape), tuple(outputs.shape))
            return outputs

        object.__setattr__(layer, "call", call)
        patched.append(layer)
    try:
        yield
    finally:
        for layer in patched:
            object.__delattr__(layer, "call")


def _trace(model, input_hw: tuple[int, int]) -> tuple[int, tuple]:
    """(MACs, output shape) of one forward pass on a (1, H, W, C) input."""
    import tensorflow as tf

    h, w = (int(v) for v in input_hw)
    channels = model.inputs[0].shape[-1]
    layers = [l for l in _walk(model) if type(l).__name__ in _COUNTED]
    shapes: dict[int, tuple] = {}
    with _recording(layers, shapes):
        concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(
            tf.TensorSpec((1, h, w, channels), tf.float32)
        )
    missing = [l.name for l in layers if id(l) not in shapes]
    if missing:
        raise RuntimeError(f"layers never called while tracing: {missing}")
    out_shape = tuple(concrete.structured_outputs.shape)
    return sum(_layer_macs(l, *shapes[id(l)]) for l in layers), out_shape


def count_macs(model, input_hw: tuple[int, int] = (64, 64)) -> int:
    """MACs of one forward pass on a (1, H, W, C) packed input (batch 1)."""
    return _trace(model, input_hw)[0]


def macs_per_output_megapixel(model_or_name, cfa: str = "bayer", input_hw: tuple[int, int] = (64, 64)) -> float:
    """MACs per megapixel of sRGB output: the fair unit across CFAs and architectures.

    `input_hw` (packed pixels) defaults to a multiple of 16, where no model rounds sizes.
    """
    from keras_lowlight.models.presets import get

    model = get(model_or_name, cfa=cfa) if isinstance(model_or_name, str) else model_or_name
    macs, out_shape = _trace(model, input_hw)
    return macs / (int(out_shape[1]) * int(out_shape[2])) * 1e6
