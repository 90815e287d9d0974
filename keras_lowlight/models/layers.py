"""Registered, serializable Keras 3 layers used by every model of the family.

Why custom layers at all: a `Lambda` does not reload in Keras's default safe mode, and the
stock alternatives convert badly to TFLite (`UpSampling2D` with a dynamic H×W does not convert;
a reshape/transpose pixel shuffle becomes a chain of ops instead of one DEPTH_TO_SPACE). Each
layer here is small, has a full `get_config`, and maps onto one builtin TFLite op where it can.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from keras_lowlight.models.kit import check_positive_int

PACKAGE = "keras_lowlight"


# --- TensorFlow bodies, shared with the tf_keras twin (models/tf_keras_twin.py) ---


def nearest_upsample_tf(x, factor: int):
    size = tf.shape(x)[1:3] * factor
    return tf.image.resize(x, size, method="nearest")


def pad_to_multiple_tf(x, multiple: int, mode: str):
    # Pad by a constant `multiple - 1`, then cut back to the next multiple: constant paddings and
    # a strided slice keep the channel count static, which TFLite's CONV_2D needs (a tf.pad with
    # computed paddings loses every dimension in the converter's shape inference).
    if multiple == 1:
        return x
    extra = multiple - 1
    y = tf.pad(x, [[0, 0], [0, extra], [0, extra], [0, 0]], mode=mode.upper())
    hw = (tf.shape(x)[1:3] + extra) // multiple * multiple
    return y[:, : hw[0], : hw[1], :]


def crop_to_match_tf(x, reference, scale: int):
    hw = tf.shape(reference)[1:3]
    if scale != 1:
        hw = hw * scale
    return x[:, : hw[0], : hw[1], :]


@keras.saving.register_keras_serializable(package=PACKAGE)
class DepthToSpace(layers.Layer):
    """Pixel shuffle: (H, W, C·b²) → (b·H, b·W, C), one DEPTH_TO_SPACE op in TFLite.

    Example:
    >>> DepthToSpace(2)(np.zeros((1, 5, 7, 12), "float32")).shape
    TensorShape([1, 10, 14, 3])
    """

    def __init__(self, block_size: int, **kwargs):
        super().__init__(**kwargs)
        self.block_size = check_positive_int("block_size", block_size)

    def call(self, inputs):
        return ops.depth_to_space(inputs, self.block_size, data_format="channels_last")

    def compute_output_shape(self, input_shape):
        b = self.block_size
        n, h, w, c = input_shape
        return (n, None if h is None else h * b, None if w is None else w * b, None if c is None else c // (b * b))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpaceToDepth(layers.Layer):
    """Inverse pixel shuffle: (b·H, b·W, C) → (H, W, C·b²), one SPACE_TO_DEPTH op in TFLite.

    H and W must be multiples of `block_size` (pad first, see `PadToMultiple`).

    Example:
    >>> SpaceToDepth(2)(np.zeros((1, 10, 14, 4), "float32")).shape
    TensorShape([1, 5, 7, 16])
    """

    def __init__(self, block_size: int, **kwargs):
        super().__init__(**kwargs)
        self.block_size = check_positive_int("block_size", block_size)

    def call(self, inputs):
        return ops.space_to_depth(inputs, self.block_size, data_format="channels_last")

    def compute_output_shape(self, input_shape):
        b = self.block_size
        n, h, w, c = input_shape
        return (n, None if h is None else h // b, None if w is None else w // b, None if c is None else c * b * b)

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ResidualScale(layers.Layer):
    """Multiplies by a fixed constant (EDSR's residual scaling); no weights, one MUL op.

    Example:
    >>> ResidualScale(0.1)(np.ones((1, 2, 2, 3), "float32"))[0, 0, 0, 0]  # 0.1
    """

    def __init__(self, scale: float, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        return inputs * ops.cast(self.scale, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package=PACKAGE)
class NearestUpsample(layers.Layer):
    """Nearest-neighbour ×`factor` upsampling that works with a dynamic H×W.

    Keras 3 `UpSampling2D` is built on `ops.repeat` and does not convert to TFLite when H and W
    are unknown; `tf.image.resize(method="nearest")` becomes one builtin RESIZE_NEAREST_NEIGHBOR.

    Example:
    >>> NearestUpsample(3)(np.zeros((1, 5, 7, 8), "float32")).shape
    TensorShape([1, 15, 21, 8])
    """

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = check_positive_int("factor", factor)

    def call(self, inputs):
        return nearest_upsample_tf(inputs, self.factor)

    def compute_output_shape(self, input_shape):
        f = self.factor
        n, h, w, c = input_shape
        return (n, None if h is None else h * f, None if w is None else w * f, c)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PadToMultiple(layers.Layer):
    """Pads H and W at the bottom/right up to the next multiple of `multiple`.

    Symmetric (mirror incl. the edge) padding, so a border pixel sees plausible neighbours
    instead of black; pads are < `multiple`, so any input ≥ `multiple` - 1 px works.
    Pair it with `CropToMatch` to return exactly the caller's size. `enabled=False` makes it a
    no-op (see `keras_lowlight.models.without_size_adapters`).
    """

    def __init__(self, multiple: int, mode: str = "symmetric", enabled: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.multiple = check_positive_int("multiple", multiple)
        if mode not in ("symmetric", "reflect", "constant"):
            raise ValueError(
                f"`mode` must be one of 'symmetric', 'reflect', 'constant'. Received: mode={mode!r}"
            )
        self.mode = mode
        self.enabled = bool(enabled)

    def call(self, inputs):
        if not self.enabled:
            return inputs
        return pad_to_multiple_tf(inputs, self.multiple, self.mode)

    def compute_output_shape(self, input_shape):
        if not self.enabled:
            return input_shape
        m = self.multiple
        n, h, w, c = input_shape
        up = lambda v: None if v is None else -(-v // m) * m  # noqa: E731
        return (n, up(h), up(w), c)

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple, "mode": self.mode, "enabled": self.enabled}


@keras.saving.register_keras_serializable(package=PACKAGE)
class CropToMatch(layers.Layer):
    """Crops `x` (top-left anchored) to `scale` × the spatial size of `reference`.

    Used where a layer rounds a size up: SID's U-Net pools with SAME padding and its
    transposed convolutions are told the skip's shape (`tf.shape(x2)`), which keeps the
    top-left part; this layer does the same, so the U-Net takes any H×W as SID's code did.
    `enabled=False` passes `x` through unchanged.
    """

    def __init__(self, scale: int = 1, enabled: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.scale = check_positive_int("scale", scale)
        self.enabled = bool(enabled)

    def call(self, inputs):
        x, reference = inputs
        if not self.enabled:
            return x
        return crop_to_match_tf(x, reference, self.scale)

    def compute_output_shape(self, input_shapes):
        x_shape, ref_shape = input_shapes
        if not self.enabled:
            return tuple(x_shape)
        s = self.scale
        h, w = ref_shape[1], ref_shape[2]
        return (x_shape[0], None if h is None else h * s, None if w is None else w * s, x_shape[3])

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "enabled": self.enabled}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SqueezeExcite(layers.Layer):
    """Squeeze-and-Excitation (Hu et al. 2018) in its 1×1-convolution form.

    GlobalAveragePooling2D(keepdims=True) → 1×1 conv C→C/r (ReLU) → 1×1 conv →C (sigmoid) → ×x.
    Same parameters as the Dense form, but under a dynamic H×W it converts to a lean TFLite
    graph (MEAN, two CONV_2D, MUL) without SHAPE/STRIDED_SLICE/PACK/RESHAPE per block.

    Example:
    >>> SqueezeExcite(reduction=16)(np.zeros((1, 8, 8, 64), "float32")).shape
    TensorShape([1, 8, 8, 64])
    """

    def __init__(self, reduction: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.reduction = check_positive_int("reduction", reduction)
        self.pool = layers.GlobalAveragePooling2D(keepdims=True, name="squeeze")
        self.reduce = None
        self.expand = None

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError("SqueezeExcite needs a known channel count. Received: input_shape=%r" % (input_shape,))
        hidden = max(1, channels // self.reduction)
        self.reduce = layers.Conv2D(hidden, 1, activation="relu", name="reduce")
        self.expand = layers.Conv2D(channels, 1, activation="sigmoid", name="expand")
        self.pool.build(input_shape)
        pooled = (input_shape[0], 1, 1, channels)
        self.reduce.build(pooled)
        self.expand.build((input_shape[0], 1, 1, hidden))

    def call(self, inputs):
        weights = self.expand(self.reduce(self.pool(inputs)))
        return inputs * weights

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction}


def activation_layer(leaky_slope: float, name: str | None = None) -> layers.Layer:
    """LeakyReLU(slope), or a plain ReLU when slope is 0 (fuses into the conv in TFLite/int8)."""
    if leaky_slope == 0:
        return layers.ReLU(name=name)
    return layers.LeakyReLU(negative_slope=leaky_slope, name=name)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ResidualBlock(layers.Layer):
    """ResNet-SE residual block (Maharjan et al., ICME 2019).

    conv3×3 → LeakyReLU(0.2) → conv3×3 → ×res_scale → SE → + input. The authors' released
    PyTorch code uses no residual scaling (res_scale 1.0, the default, which adds no op);
    EDSR's 0.1 is one argument away. `leaky_slope=0` uses ReLU (int8-friendly).

    Example:
    >>> block = ResidualBlock(64, res_scale=0.1)
    >>> block(np.zeros((1, 16, 16, 64), "float32")).shape
    TensorShape([1, 16, 16, 64])
    """

    def __init__(
        self,
        filters: int,
        res_scale: float = 1.0,
        leaky_slope: float = 0.2,
        use_se: bool = True,
        se_reduction: int = 16,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        if not res_scale > 0:
            raise ValueError(f"`res_scale` must be > 0. Received: res_scale={res_scale!r}")
        if not 0 <= leaky_slope < 1:
            raise ValueError(f"`leaky_slope` must be in [0, 1). Received: leaky_slope={leaky_slope!r}")
        self.res_scale = float(res_scale)
        self.leaky_slope = float(leaky_slope)
        self.use_se = bool(use_se)
        self.se_reduction = check_positive_int("se_reduction", se_reduction)
        # Creation order = weight order; the tf_keras twin creates its flat layers in this order.
        self.conv1 = layers.Conv2D(filters, 3, padding="same", name="conv1")
        self.act = activation_layer(self.leaky_slope, name="act")
        self.conv2 = layers.Conv2D(filters, 3, padding="same", name="conv2")
        self.scale = ResidualScale(self.res_scale, name="scale") if self.res_scale != 1.0 else None
        self.se = SqueezeExcite(self.se_reduction, name="se") if self.use_se else None

    def build(self, input_shape):
        if input_shape[-1] != self.filters:
            raise ValueError(
                f"ResidualBlock({self.filters}) needs {self.filters} input channels. "
                f"Received: input_shape={input_shape!r}"
            )
        self.conv1.build(input_shape)
        self.conv2.build(input_shape)
        if self.se is not None:
            self.se.build(input_shape)

    def call(self, inputs):
        x = self.conv2(self.act(self.conv1(inputs)))
        if self.scale is not None:
            x = self.scale(x)
        if self.se is not None:
            x = self.se(x)
        return inputs + x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "res_scale": self.res_scale,
            "leaky_slope": self.leaky_slope,
            "use_se": self.use_se,
            "se_reduction": self.se_reduction,
        }
