"""Named model configurations and `get(name, cfa)`.

A preset is a builder plus keyword arguments, kept as plain data so a saved model's config, the
CLI table and the tf_keras twin all read the same description. The CFA decides the input
channels and the upscale: Bayer packs to 4 channels at ½ resolution (×2 back), X-Trans to 9
channels at ⅓ (×3), exactly as SID's `pack_raw`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from keras_lowlight.runtime.errors import LowlightError


class UnknownPresetError(LowlightError):
    """A model preset name that does not exist."""

    def __init__(self, name: object, known: list[str]):
        self.name = name
        super().__init__(f"unknown model preset {name!r}; known presets: {', '.join(known)}")


class UnknownCfaError(LowlightError):
    """A CFA kind other than 'bayer' or 'xtrans'."""

    def __init__(self, cfa: object):
        super().__init__(f"unknown CFA kind {cfa!r}; expected one of: {', '.join(CFA_IO)}")


# cfa → (packed input channels, output upscale); one home in `keras_lowlight.runtime.conventions`.
from keras_lowlight.runtime.conventions import CFA_IO  # noqa: E402

# What a model outputs, and the name of its output layer (also the `.tflite` output name):
#   srgb: the paper's — the rendered sRGB image at ×2 (Bayer) / ×3 (X-Trans), colour learned.
#   raw:  the clean packed RAW at the target exposure, same shape as the input, [0, 1] scale;
#         colour then comes from the file (`keras_lowlight.runtime.isp.render_packed`).
HEADS = ("srgb", "raw")


@dataclass(frozen=True)
class Preset:
    builder: str  # "resnet_se" | "sid_unet" | "mobile_resnet_se" | "mobile_unet"
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""


PRESETS: dict[str, Preset] = {
    "resnet_se_16": Preset("resnet_se", {"blocks": 16, "filters": 64}, "ResNet-SE, 16 blocks × 64 (paper)"),
    "resnet_se_32": Preset("resnet_se", {"blocks": 32, "filters": 64}, "ResNet-SE, 32 blocks × 64 (paper)"),
    "resnet_se_16_nose": Preset(
        "resnet_se", {"blocks": 16, "filters": 64, "use_se": False}, "ResNet-SE-16 without SE (paper's ablation)"
    ),
    "sid_unet": Preset("sid_unet", {"base_filters": 32}, "SID's U-Net (Chen et al. 2018)"),
    "mobile": Preset(
        "mobile_resnet_se", {"blocks": 6, "filters": 32, "se_reduction": 8},
        "fast ResNet-SE: trunk at ¼ output resolution, ReLU, 6 × 32",
    ),
    # Tiny widths for tests, CI and CPU smoke runs.
    "tiny": Preset("resnet_se", {"blocks": 2, "filters": 8, "se_reduction": 4}, "test size: ResNet-SE 2 × 8"),
    "tiny_unet": Preset("sid_unet", {"base_filters": 4}, "test size: SID U-Net, 4-8-16-32-64"),
    # Multi-scale mobile candidates (issue 14): ≤ ⅓ of the U-Net's MACs, whole int8 graph on XNNPACK.
    "mobile_unet": Preset(
        "mobile_unet", {"filters": (32, 64, 128), "bottom_blocks": 4, "level_blocks": 1, "se_reduction": 8},
        "multi-scale mobile encoder-decoder 32-64-128, 4 SE blocks at ⅛ packed resolution",
    ),
    "mobile_unet_s": Preset(
        "mobile_unet", {"filters": (24, 48, 96), "bottom_blocks": 3, "level_blocks": 1, "se_reduction": 8},
        "smaller multi-scale mobile encoder-decoder 24-48-96, 3 SE blocks at the bottom",
    ),
    "tiny_mobile_unet": Preset(
        "mobile_unet", {"filters": (8, 8, 16), "bottom_blocks": 1, "level_blocks": 1, "se_reduction": 4},
        "test size: mobile_unet 8-8-16",
    ),
    "tiny_mobile": Preset(
        "mobile_resnet_se", {"blocks": 1, "filters": 8, "se_reduction": 4}, "test size: mobile 1 × 8"
    ),
}


# builder kind → (module under keras_lowlight.models, public builder name); the architecture itself
# is `<name>_graph` in the same module, shared by the Keras 3 builder and the tf_keras twin.
BUILDERS = {
    "resnet_se": ("resnet_se", "resnet_se"),
    "sid_unet": ("unet", "sid_unet"),
    "mobile_resnet_se": ("mobile", "mobile_resnet_se"),
    "mobile_unet": ("mobile_unet", "mobile_unet"),
}


def _builder(kind: str, graph: bool = False) -> Callable[..., Any]:
    """The Keras 3 builder of a kind, or with `graph=True` its architecture function."""
    import importlib

    if kind not in BUILDERS:
        raise ValueError(f"unknown builder {kind!r}")
    module, name = BUILDERS[kind]
    return getattr(importlib.import_module(f"keras_lowlight.models.{module}"), f"{name}_graph" if graph else name)


def cfa_io(cfa: str) -> tuple[int, int]:
    """(input channels, upscale) of a CFA kind."""
    try:
        return CFA_IO[cfa]
    except (KeyError, TypeError):
        raise UnknownCfaError(cfa) from None


def check_head(head: object) -> str:
    if head not in HEADS:
        raise ValueError(f"`head` must be one of {', '.join(map(repr, HEADS))}. Received: head={head!r}")
    return head  # type: ignore[return-value]


def model_name(name: str, cfa: str, head: str = "srgb") -> str:
    """`<preset>_<cfa>` for the paper's sRGB head, `<preset>_<cfa>_raw` for the RAW head."""
    return f"{name}_{cfa}" if head == "srgb" else f"{name}_{cfa}_{head}"


def resolve(name: str, cfa: str = "bayer", head: str = "srgb", **overrides: Any) -> tuple[str, dict[str, Any]]:
    """(builder kind, full keyword arguments) of a preset — the one architecture description
    that both the Keras 3 builders and the tf_keras twin consume."""
    if name not in PRESETS:
        raise UnknownPresetError(name, list(PRESETS))
    preset = PRESETS[name]
    in_channels, scale = cfa_io(cfa)
    check_head(head)
    kwargs = {**preset.kwargs, "in_channels": in_channels, "scale": scale, "head": head,
              "name": model_name(name, cfa, head)}
    kwargs.update(overrides)
    return preset.builder, kwargs


def get(name: str, cfa: str = "bayer", head: str = "srgb", **overrides: Any):
    """Builds a preset as a Keras 3 model named `<preset>_<cfa>` (e.g. `resnet_se_16_bayer`), or
    `<preset>_<cfa>_raw` with the RAW head, so a reloaded `.keras` file says what it is.

    Example:
    >>> model = get("resnet_se_16")                  # Bayer: 4 → ×2 sRGB
    >>> model = get("mobile", cfa="xtrans")          # X-Trans: 9 → ×3 sRGB
    >>> model = get("mobile", head="raw")            # Bayer: 4 → 4, the clean packed RAW
    >>> model = get("tiny", upsampling="nearest")    # any builder argument can be overridden
    """
    kind, kwargs = resolve(name, cfa, head, **overrides)
    try:
        return _builder(kind)(**kwargs)
    except TypeError as e:  # an override the builder does not take
        raise ValueError(f"preset {name!r} does not accept these overrides: {sorted(overrides)} ({e})") from None


def describe(model) -> tuple[str, dict[str, Any]]:
    """Reads a model's architecture description (builder kind, keyword arguments) back from its
    layers, so a `.keras` file loaded without any side information can be rebuilt elsewhere
    (e.g. as a tf_keras twin). Inverse of `resolve`."""
    by_type: dict[str, list] = {}
    for layer in model.layers:
        by_type.setdefault(type(layer).__name__, []).append(layer)
    first = lambda kind: by_type[kind][0]  # noqa: E731
    in_channels = int(model.inputs[0].shape[-1])
    adapters = by_type.get("CropToMatch", []) + by_type.get("PadToMultiple", [])
    any_size = any(layer.enabled for layer in adapters)
    head = head_of(model)
    # The RAW head has no upsampler to read the scale from: it is the CFA's (unused by the graph).
    cfa_scale = dict(CFA_IO.values()).get(in_channels, 1)
    if "MaxPooling2D" in by_type:
        conv1 = model.get_layer("conv1_1")
        return "sid_unet", {
            "in_channels": in_channels,
            "scale": int(model.get_layer("srgb").block_size) if head == "srgb" else cfa_scale,
            "head": head,
            "base_filters": int(conv1.filters),
            "leaky_slope": float(getattr(model.get_layer("lrelu1_1"), "negative_slope", 0.0)),
            "any_size": any_size,
            "name": model.name,
        }
    names = {layer.name for layer in model.layers}
    if "enc1_down" in names:  # mobile_unet
        bottom = [layer for layer in by_type.get("ResidualBlock", []) if layer.name.startswith("block_")]
        enc1 = [layer for layer in by_type.get("ResidualBlock", []) if layer.name.startswith("enc1_block_")]
        widths = tuple(int(model.get_layer(n).filters) for n in ("enc1_down", "enc2_down", "bottom_down"))
        if head == "raw":
            scale = cfa_scale
        else:
            factor = int(model.get_layer("pixel_shuffle" if "CropToMatch" in by_type else "srgb").block_size)
            scale = factor // 2
        extra = {}
        if head == "raw":  # only stated when not the builder's defaults, so older files describe as before
            if "enc0_conv" in names:
                extra["full_res_filters"] = int(model.get_layer("enc0_conv").filters)
            if type(model.get_layer("raw")).__name__ != "Add":
                extra["raw_residual"] = False
        return "mobile_unet", {
            **extra,
            "filters": widths, "bottom_blocks": len(bottom), "level_blocks": len(enc1),
            "use_se": bottom[0].use_se, "se_reduction": bottom[0].se_reduction,
            "leaky_slope": bottom[0].leaky_slope, "in_channels": in_channels, "scale": scale,
            "any_size": any_size, "head": head, "name": model.name,
        }
    blocks = by_type.get("ResidualBlock", [])
    if not blocks:
        raise ValueError(f"model {model.name!r} is not a model of the keras_lowlight family (no ResidualBlock)")
    block = blocks[0]
    trunk = {
        "blocks": len(blocks),
        "filters": block.filters,
        "use_se": block.use_se,
        "se_reduction": block.se_reduction,
        "leaky_slope": block.leaky_slope,
        "res_scale": block.res_scale,
        "in_channels": in_channels,
        "head": head,
        "name": model.name,
    }
    if "SpaceToDepth" in by_type:
        downsample = int(first("SpaceToDepth").block_size)
        if head == "raw":
            scale = cfa_scale
        else:
            factor = int(model.get_layer("pixel_shuffle" if "CropToMatch" in by_type else "srgb").block_size)
            scale = factor // downsample
        return "mobile_resnet_se", {**trunk, "scale": scale, "downsample": downsample, "any_size": any_size}
    if head == "raw":  # no upsampler: the builder's default stands in
        return "resnet_se", {**trunk, "scale": cfa_scale, "upsampling": "pixel_shuffle"}
    if "DepthToSpace" in by_type:
        upsampling, scale = "pixel_shuffle", int(first("DepthToSpace").block_size)
    elif "NearestUpsample" in by_type:
        upsampling, scale = "nearest", int(first("NearestUpsample").factor)
    else:
        upsampling, scale = "transposed", int(model.get_layer("upsample_transposed").strides[0])
    return "resnet_se", {**trunk, "scale": scale, "upsampling": upsampling}


def head_of(model) -> str:
    """"raw" when the model's output layer is the RAW head's (named `raw`), else "srgb"."""
    # tfmot's QAT wrappers rename every layer `quant_<name>`.
    names = {layer.name.removeprefix("quant_") for layer in model.layers}
    return "raw" if "raw" in names and "srgb" not in names else "srgb"
