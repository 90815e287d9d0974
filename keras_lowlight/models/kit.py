"""The vocabulary the architectures are written in, and its Keras 3 implementation.

Each architecture (`resnet_se.py`, `unet.py`, `mobile.py`) is ONE function written against a
`LayerKit`: it says "a 3×3 conv of 64 filters named head", "a residual block", "a pixel
shuffle by 2"… `Keras3Kit` turns that into the Keras 3 model (residual blocks as registered
nested layers); `tf_keras_twin.TfKerasKit` turns the very same description into a flat Keras 2
graph for tensorflow-model-optimization. Same description, same layer creation order, hence
the same weight order: `twin.set_weights(model.get_weights())` just works.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

Tensor = Any


class LayerKit(Protocol):
    def input(self, channels: int, name: str) -> Tensor: ...

    def conv(self, x: Tensor, filters: int, kernel: int, name: str, zeros: bool = False) -> Tensor: ...

    def act(self, x: Tensor, leaky_slope: float, name: str) -> Tensor: ...

    def residual_block(
        self, x: Tensor, filters: int, res_scale: float, leaky_slope: float, use_se: bool, se_reduction: int,
        name: str,
    ) -> Tensor: ...

    def add(self, a: Tensor, b: Tensor, name: str) -> Tensor: ...

    def concat(self, tensors: Sequence[Tensor], name: str) -> Tensor: ...

    def max_pool(self, x: Tensor, name: str) -> Tensor: ...

    def strided_conv(self, x: Tensor, filters: int, kernel: int, name: str) -> Tensor: ...

    def conv_transpose(self, x: Tensor, filters: int, kernel: int, strides: int, name: str) -> Tensor: ...

    def depth_to_space(self, x: Tensor, block_size: int, name: str) -> Tensor: ...

    def space_to_depth(self, x: Tensor, block_size: int, name: str) -> Tensor: ...

    def nearest_upsample(self, x: Tensor, factor: int, name: str) -> Tensor: ...

    def pad_to_multiple(self, x: Tensor, multiple: int, name: str) -> Tensor: ...

    def crop_to_match(self, x: Tensor, reference: Tensor, scale: int, name: str) -> Tensor: ...

    def model(self, inputs: Tensor, outputs: Tensor, name: str) -> Any: ...


class Keras3Kit:
    """Builds Keras 3 functional models."""

    def __init__(self):
        import keras
        from keras import layers

        from keras_lowlight.models import layers as ll

        self.keras, self.layers, self.ll = keras, layers, ll

    def input(self, channels, name):
        return self.keras.Input(shape=(None, None, channels), name=name)

    def conv(self, x, filters, kernel, name, zeros=False):
        init = {"kernel_initializer": "zeros"} if zeros else {}
        return self.layers.Conv2D(filters, kernel, padding="same", name=name, **init)(x)

    def act(self, x, leaky_slope, name):
        return self.ll.activation_layer(leaky_slope, name=name)(x)

    def residual_block(self, x, filters, res_scale, leaky_slope, use_se, se_reduction, name):
        return self.ll.ResidualBlock(
            filters, res_scale=res_scale, leaky_slope=leaky_slope, use_se=use_se, se_reduction=se_reduction,
            name=name,
        )(x)

    def add(self, a, b, name):
        return self.layers.Add(name=name)([a, b])

    def concat(self, tensors, name):
        return self.layers.Concatenate(axis=-1, name=name)(list(tensors))

    def max_pool(self, x, name):
        return self.layers.MaxPooling2D(2, padding="same", name=name)(x)

    def strided_conv(self, x, filters, kernel, name):
        return self.layers.Conv2D(filters, kernel, strides=2, padding="same", name=name)(x)

    def conv_transpose(self, x, filters, kernel, strides, name):
        return self.layers.Conv2DTranspose(filters, kernel, strides=strides, padding="same", name=name)(x)

    def depth_to_space(self, x, block_size, name):
        return self.ll.DepthToSpace(block_size, name=name)(x)

    def space_to_depth(self, x, block_size, name):
        return self.ll.SpaceToDepth(block_size, name=name)(x)

    def nearest_upsample(self, x, factor, name):
        return self.ll.NearestUpsample(factor, name=name)(x)

    def pad_to_multiple(self, x, multiple, name):
        return self.ll.PadToMultiple(multiple, name=name)(x)

    def crop_to_match(self, x, reference, scale, name):
        return self.ll.CropToMatch(scale, name=name)([x, reference])

    def model(self, inputs, outputs, name):
        return self.keras.Model(inputs, outputs, name=name)


def raw_output(kit: LayerKit, inputs: Tensor, residual: Tensor) -> Tensor:
    """The RAW head's output: the amplified input plus a learned correction, named `raw`.

    Residual learning (DnCNN-style): the network predicts what to take away (noise, the
    clipping and black-level bias of the amplified short exposure). The convolution producing
    the residual starts at zero (`conv(..., zeros=True)`), so an untrained model IS
    amplification-only instead of adding a random image to it (measured: a default-initialised
    `mobile` RAW head starts ~9 dB below amplification-only and needs hundreds of steps to get back).
    """
    return kit.add(inputs, residual, name="raw")


def check_positive_int(name: str, value: object) -> int:
    """keras-hub style argument check: ValueError quoting the received value."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {', '.join(map(repr, choices))}. Received: {name}={value!r}")
    return value  # type: ignore[return-value]
