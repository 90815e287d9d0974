"""The model family: ResNet-SE (Maharjan et al. 2019), SID's U-Net (Chen et al. 2018) and a
fast mobile ResNet-SE, all Keras 3 functional models with input `packed_raw` (N, H, W, C) and
one of two heads: `srgb` (N, s·H, s·W, 3), the paper's rendered image (default), or `raw`
(N, H, W, C), the clean packed RAW at the target exposure, rendered afterwards with the file's
own colour metadata (`keras_lowlight.runtime.isp`).

>>> from keras_lowlight import models
>>> model = models.get("resnet_se_16", cfa="bayer")
>>> models.input_multiple(model)   # 1: any H×W, no rounding
"""

from __future__ import annotations

# Registers everything a saved `.keras` file may reference (layers, and the metrics and schedule of
# its compile config), so it loads in a fresh process before any model is built.
from keras_lowlight.models import losses as _losses  # noqa: F401
from keras_lowlight.models import metrics as _metrics  # noqa: F401
from keras_lowlight.models import schedules as _schedules  # noqa: F401
from keras_lowlight.models import layers  # noqa: F401
from keras_lowlight.models.macs import count_macs, macs_per_output_megapixel
from keras_lowlight.models.mobile import mobile_resnet_se
from keras_lowlight.models.mobile_unet import mobile_unet
from keras_lowlight.models.presets import (
    CFA_IO,
    HEADS,
    PRESETS,
    Preset,
    UnknownCfaError,
    UnknownPresetError,
    cfa_io,
    describe,
    get,
    head_of,
    model_name,
    resolve,
)
from keras_lowlight.models.resnet_se import resnet_se
from keras_lowlight.models.unet import sid_unet


def input_multiple(model_or_name) -> int:
    """The H, W multiple at which a model's packed input needs no internal padding/rounding.

    16 for SID's U-Net (four 2× poolings), 8 for `mobile_unet` (three strided convolutions), 2 for
    `mobile` (space_to_depth(2)), 1 for ResNet-SE.
    By default every model accepts any size (they pad/crop inside); tiles of this multiple need
    no rounding inside the model, and models built with `any_size=False` (or passed through
    `without_size_adapters`, the fast TFLite graph) REQUIRE it. Works on a loaded model too:
    derived from its pooling / space_to_depth layers.
    """
    if isinstance(model_or_name, str):
        model_or_name = get(model_or_name)
    multiple = 1
    for layer in model_or_name.layers:
        kind = type(layer).__name__
        if kind == "MaxPooling2D":
            multiple *= int(layer.strides[0])
        elif kind == "SpaceToDepth":
            multiple *= int(layer.block_size)
        elif kind == "Conv2D" and int(layer.strides[0]) > 1:  # mobile_unet's strided downsampling
            multiple *= int(layer.strides[0])
    return multiple


def without_size_adapters(model):
    """A copy of `model` (same weights) whose pad/crop layers are switched off.

    The pad/crop layers that let SID's U-Net and `mobile` take any H×W depend on the input's
    shape at run time; in TFLite that keeps the tensors after them dynamic and off XNNPACK
    (measured: ~1.4× slower int8 U-Net, ~2–3× slower int8 mobile). For an export whose caller
    pads to `input_multiple(model)`, convert this copy instead. Same as building the preset with
    `any_size=False`.
    """
    import keras

    from keras_lowlight.models.layers import CropToMatch, PadToMultiple

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, (CropToMatch, PadToMultiple)):
            config["enabled"] = False
        return type(layer).from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def __getattr__(name: str):  # the twin pulls in tf_keras: only when asked for
    if name == "build_tf_keras_twin":
        from keras_lowlight.models.tf_keras_twin import build_tf_keras_twin

        return build_tf_keras_twin
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CFA_IO",
    "HEADS",
    "PRESETS",
    "Preset",
    "UnknownCfaError",
    "UnknownPresetError",
    "build_tf_keras_twin",
    "cfa_io",
    "count_macs",
    "describe",
    "get",
    "head_of",
    "input_multiple",
    "macs_per_output_megapixel",
    "mobile_resnet_se",
    "mobile_unet",
    "model_name",
    "resnet_se",
    "resolve",
    "sid_unet",
    "without_size_adapters",
]
