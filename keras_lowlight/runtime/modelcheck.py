"""The shape contract a model file must meet before any RAW is read for it.

A `.keras` or `.tflite` from elsewhere may load fine and still be no low-light RAW model: an RGB
network (3 input channels), one with two inputs, or one returning something other than an image.
Running it would fail deep inside the tiler, after the first RAW was decoded, or worse, produce a
picture. These checks read the declared shapes only (no inference), so they are instant.

Contract (see `keras_lowlight.export.tflite`): one input (batch, H, W, C) float32 with C = 4 (packed
Bayer) or 9 (packed X-Trans), one output (batch, H', W', 3) sRGB — or C channels for a RAW head.
"""

from __future__ import annotations

import numpy as np

from keras_lowlight.runtime.conventions import CFA_FOR_CHANNELS

# The channels a packed RAW has (4 Bayer, 9 X-Trans): the one CFA map in `conventions`.
PACKED_CHANNELS = {channels: {"bayer": "Bayer", "xtrans": "X-Trans"}.get(cfa, cfa)
                   for channels, cfa in CFA_FOR_CHANNELS.items()}


def shape_problem(input_shape, output_shape) -> str | None:
    """What breaks the contract in these declared shapes (None/-1 = dynamic), or None."""
    input_shape, output_shape = tuple(input_shape), tuple(output_shape)
    if len(input_shape) != 4:
        return f"input shape {input_shape} is not (batch, H, W, C): not a packed-RAW model"
    channels = input_shape[-1]
    if channels not in PACKED_CHANNELS:
        return (f"input has {channels} channels; a low-light RAW model takes 4 (packed Bayer) or 9 "
                "(packed X-Trans) — this looks like an RGB or unrelated model")
    if len(output_shape) != 4 or output_shape[-1] not in (3, channels):
        return f"output shape {output_shape} is not (batch, H, W, 3) sRGB"
    return None


def keras_problem(model) -> str | None:
    inputs, outputs = list(model.inputs or []), list(model.outputs or [])
    if len(inputs) != 1 or len(outputs) != 1:
        return f"expected one input and one output, the model has {len(inputs)} and {len(outputs)}"
    return shape_problem(inputs[0].shape, outputs[0].shape)


def tflite_problem(input_detail: dict, output_detail: dict) -> str | None:
    """From a LiteRT signature runner's input/output details."""
    problem = shape_problem(input_detail["shape_signature"], output_detail["shape_signature"])
    if problem:
        return problem
    if np.dtype(input_detail["dtype"]) != np.float32 or np.dtype(output_detail["dtype"]) != np.float32:
        return (f"input/output are {np.dtype(input_detail['dtype'])}/{np.dtype(output_detail['dtype'])}; "
                "the contract is float32 in and out (quantized inside)")
    return None
