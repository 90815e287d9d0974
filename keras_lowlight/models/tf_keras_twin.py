"""A Keras 2 (`tf_keras`) twin of any model of the family, for quantization-aware training.

tensorflow-model-optimization 0.8 only quantizes `tf_keras` Sequential/Functional models and
refuses nested or unknown layers unless they are annotated. So the twin is built from the SAME
architecture description as the Keras 3 model (`resnet_se_graph`, `sid_unet_graph`,
`mobile_resnet_se_graph` written against a `LayerKit`), by a kit that emits a FLAT graph of
standard tf_keras layers: each `ResidualBlock` becomes Conv2D, LeakyReLU/ReLU, Conv2D,
[ResidualScale], GlobalAveragePooling2D(keepdims=True), Conv2D(relu), Conv2D(sigmoid), Multiply,
Add. Only depth_to_space, space_to_depth, residual scaling, nearest resize and the pad/crop size
adapters are (tiny) custom layers; `TWIN_CUSTOM_LAYER_NAMES` lists them for QuantizeConfigs.

Layers are created in the Keras 3 model's weight order, so
`twin.set_weights(model.get_weights())` transfers a trained model (done for you when you pass
the model itself).

`annotate(layer) -> layer` is called on every layer right before it is applied: pass e.g.
`lambda l: tfmot.quantization.keras.quantize_annotate_layer(l, config_for(l))` and then
`quantize_apply` inside `quantize_scope(twin_custom_objects())`.

`tf_keras` is imported lazily, inside the functions below; this module never imports
tensorflow_model_optimization (importing it flips `tf.keras` to Keras 2 process-wide).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from keras_lowlight.models import layers as ll

TWIN_CUSTOM_LAYER_NAMES = (
    "TwinDepthToSpace",
    "TwinSpaceToDepth",
    "TwinResidualScale",
    "TwinNearestUpsample",
    "TwinPadToMultiple",
    "TwinCropToMatch",
)
_PACKAGE = "keras_lowlight_twin"


@functools.lru_cache(maxsize=None)
def twin_custom_objects() -> dict[str, type]:
    """The tf_keras custom layer classes by name (for `quantize_scope` / `load_model`)."""
    import tensorflow as tf
    import tf_keras

    register = tf_keras.saving.register_keras_serializable(package=_PACKAGE)

    @register
    class TwinDepthToSpace(tf_keras.layers.Layer):
        def __init__(self, block_size: int, **kwargs):
            super().__init__(**kwargs)
            self.block_size = block_size

        def call(self, inputs):
            return tf.nn.depth_to_space(inputs, self.block_size)

        def get_config(self):
            return {**super().get_config(), "block_size": self.block_size}

    @register
    class TwinSpaceToDepth(tf_keras.layers.Layer):
        def __init__(self, block_size: int, **kwargs):
            super().__init__(**kwargs)
            self.block_size = block_size

        def call(self, inputs):
            return tf.nn.space_to_depth(inputs, self.block_size)

        def get_config(self):
            return {**super().get_config(), "block_size": self.block_size}

    @register
    class TwinResidualScale(tf_keras.layers.Layer):
        def __init__(self, scale: float, **kwargs):
            super().__init__(**kwargs)
            self.scale = float(scale)

        def call(self, inputs):
            return inputs * tf.cast(self.scale, inputs.dtype)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    @register
    class TwinNearestUpsample(tf_keras.layers.Layer):
        def __init__(self, factor: int, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, inputs):
            return ll.nearest_upsample_tf(inputs, self.factor)

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    @register
    class TwinPadToMultiple(tf_keras.layers.Layer):
        def __init__(self, multiple: int, mode: str = "symmetric", **kwargs):
            super().__init__(**kwargs)
            self.multiple, self.mode = multiple, mode

        def call(self, inputs):
            return ll.pad_to_multiple_tf(inputs, self.multiple, self.mode)

        def get_config(self):
            return {**super().get_config(), "multiple": self.multiple, "mode": self.mode}

    @register
    class TwinCropToMatch(tf_keras.layers.Layer):
        def __init__(self, scale: int = 1, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, inputs):
            x, reference = inputs
            return ll.crop_to_match_tf(x, reference, self.scale)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    classes = (
        TwinDepthToSpace, TwinSpaceToDepth, TwinResidualScale, TwinNearestUpsample, TwinPadToMultiple,
        TwinCropToMatch,
    )
    return {cls.__name__: cls for cls in classes}


class TfKerasKit:
    """`LayerKit` that emits a flat tf_keras functional graph."""

    def __init__(self, annotate: Callable[[Any], Any] | None = None):
        import tf_keras

        self.tf_keras = tf_keras
        self.L = tf_keras.layers
        self.custom = twin_custom_objects()
        self.annotate = annotate

    def _apply(self, layer, inputs):
        if self.annotate is not None:
            layer = self.annotate(layer)
        return layer(inputs)

    def input(self, channels, name):
        return self.tf_keras.Input(shape=(None, None, channels), name=name)

    def conv(self, x, filters, kernel, name, activation=None, zeros=False):
        init = {"kernel_initializer": "zeros"} if zeros else {}
        return self._apply(self.L.Conv2D(filters, kernel, padding="same", activation=activation, name=name, **init), x)

    def act(self, x, leaky_slope, name):
        if leaky_slope == 0:
            return self._apply(self.L.ReLU(name=name), x)
        return self._apply(self.L.LeakyReLU(alpha=leaky_slope, name=name), x)

    def residual_block(self, x, filters, res_scale, leaky_slope, use_se, se_reduction, name):
        # Mirrors keras_lowlight.models.layers.ResidualBlock / SqueezeExcite, flattened;
        # the layer creation order is the nested layer's weight order.
        y = self.conv(x, filters, 3, name=f"{name}_conv1")
        y = self.act(y, leaky_slope, name=f"{name}_act")
        y = self.conv(y, filters, 3, name=f"{name}_conv2")
        if res_scale != 1.0:
            y = self._apply(self.custom["TwinResidualScale"](res_scale, name=f"{name}_scale"), y)
        if use_se:
            w = self._apply(self.L.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_squeeze"), y)
            w = self._apply(
                self.L.Conv2D(max(1, filters // se_reduction), 1, activation="relu", name=f"{name}_se_reduce"), w
            )
            w = self._apply(self.L.Conv2D(filters, 1, activation="sigmoid", name=f"{name}_se_expand"), w)
            y = self._apply(self.L.Multiply(name=f"{name}_se_excite"), [y, w])
        return self._apply(self.L.Add(name=f"{name}_add"), [x, y])

    def add(self, a, b, name):
        return self._apply(self.L.Add(name=name), [a, b])

    def concat(self, tensors, name):
        return self._apply(self.L.Concatenate(axis=-1, name=name), list(tensors))

    def strided_conv(self, x, filters, kernel, name):
        return self._apply(self.L.Conv2D(filters, kernel, strides=2, padding="same", name=name), x)

    def max_pool(self, x, name):
        return self._apply(self.L.MaxPooling2D(2, padding="same", name=name), x)

    def conv_transpose(self, x, filters, kernel, strides, name):
        return self._apply(self.L.Conv2DTranspose(filters, kernel, strides=strides, padding="same", name=name), x)

    def depth_to_space(self, x, block_size, name):
        return self._apply(self.custom["TwinDepthToSpace"](block_size, name=name), x)

    def space_to_depth(self, x, block_size, name):
        return self._apply(self.custom["TwinSpaceToDepth"](block_size, name=name), x)

    def nearest_upsample(self, x, factor, name):
        return self._apply(self.custom["TwinNearestUpsample"](factor, name=name), x)

    def pad_to_multiple(self, x, multiple, name):
        return self._apply(self.custom["TwinPadToMultiple"](multiple, name=name), x)

    def crop_to_match(self, x, reference, scale, name):
        return self._apply(self.custom["TwinCropToMatch"](scale, name=name), [x, reference])

    def model(self, inputs, outputs, name):
        return self.tf_keras.Model(inputs, outputs, name=name)


def _graph_function(kind: str):
    from keras_lowlight.models.presets import _builder

    return _builder(kind, graph=True)


def build_tf_keras_twin(source, annotate: Callable[[Any], Any] | None = None):
    """Builds the flat tf_keras twin of a model of the family.

    Args:
        source: a Keras 3 model of this family (built by `models.get` or loaded from `.keras`;
            its description is read back from its layers and its weights are copied into the
            twin), or a `(preset_name, cfa, overrides_dict)` tuple (fresh weights).
        annotate: optional `annotate(layer) -> layer`, applied to every layer before it is
            called (e.g. tfmot's `quantize_annotate_layer`).

    Example:
    >>> model = models.get("mobile", cfa="bayer")
    >>> twin = build_tf_keras_twin(model)        # same weights, flat tf_keras graph
    >>> twin = build_tf_keras_twin(("tiny", "xtrans", {"upsampling": "nearest"}))
    """
    from keras_lowlight.models.presets import describe, resolve

    if isinstance(source, tuple):
        name, cfa, *rest = source
        kind, kwargs = resolve(name, cfa, **(rest[0] if rest else {}))
        weights = None
    else:
        kind, kwargs = describe(source)
        weights = source.get_weights()
    twin = _graph_function(kind)(TfKerasKit(annotate), **kwargs)
    if weights is not None:
        expected = [tuple(w.shape) for w in weights]
        got = [tuple(w.shape) for w in twin.get_weights()]
        if expected != got:
            raise ValueError(
                f"tf_keras twin of {kwargs.get('name')!r} does not match the model's weights "
                f"({len(got)} vs {len(expected)} arrays); is it a model of this family?"
            )
        twin.set_weights(weights)
    return twin
