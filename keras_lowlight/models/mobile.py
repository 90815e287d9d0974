"""`mobile`: ResNet-SE made cheap enough for a phone.

The paper sells ResNet-SE as light (1.38 M parameters), but its whole trunk runs at the packed
resolution: ≈1.37 M MACs per packed pixel, ~7× SID's U-Net, which pools away most of its work.
This variant keeps the ResNet-SE ingredients (packed RAW in, residual blocks with SE, global
skip, pixel-shuffle out) and moves the trunk one octave down:

    packed_raw (H, W, C) → [pad to even] → space_to_depth(2) → (H/2, W/2, 4C)
    → conv3×3 → N × ResidualBlock(ReLU, SE) → conv3×3 → + head
    → conv3×3 to 3·(2s)² → depth_to_space(2s) → [crop] → srgb (s·H, s·W, 3)

so the trunk sees 1/4 of the output resolution per side for Bayer (1/6 for X-Trans) and one
design serves both CFAs. ReLU (fused into the convolutions by TFLite, exact in int8) replaces
LeakyReLU, and there is no residual scaling op. With 15 3×3 convolutions at the trunk
resolution, the receptive field is ~31 trunk pixels (~124 output pixels for Bayer) plus SE's
global context — more than the 1/2-resolution ResNet-SE-16 (35 packed = 70 output pixels).
"""

from __future__ import annotations

from typing import Any

from keras_lowlight.models.kit import Keras3Kit, LayerKit, check_choice, check_positive_int, raw_output
from keras_lowlight.models.resnet_se import check_trunk_args, residual_trunk


def mobile_resnet_se_graph(
    kit: LayerKit,
    blocks: int = 6,
    filters: int = 32,
    use_se: bool = True,
    se_reduction: int = 8,
    leaky_slope: float = 0.0,
    res_scale: float = 1.0,
    in_channels: int = 4,
    scale: int = 2,
    downsample: int = 2,
    any_size: bool = True,
    head: str = "srgb",
    name: str = "mobile_resnet_se",
) -> Any:
    check_trunk_args(blocks, filters, se_reduction, leaky_slope, res_scale, in_channels, scale)
    check_positive_int("downsample", downsample)
    check_choice("head", head, ("srgb", "raw"))
    inputs = kit.input(in_channels, name="packed_raw")
    x = inputs
    adapt = any_size and downsample > 1
    if adapt:
        x = kit.pad_to_multiple(x, downsample, name="pad_to_multiple")
    if downsample > 1:
        x = kit.space_to_depth(x, downsample, name="space_to_depth")
    x = kit.conv(x, filters, 3, name="head")
    x = residual_trunk(kit, x, blocks, filters, use_se, se_reduction, leaky_slope, res_scale)
    if head == "raw":  # back to the packed resolution only (×downsample), in_channels out
        x = kit.conv(x, in_channels * downsample * downsample, 3, name="upsample_conv", zeros=True)
        if downsample > 1:
            x = kit.depth_to_space(x, downsample, name="pixel_shuffle")
        if adapt:
            x = kit.crop_to_match(x, inputs, 1, name="raw_residual")
        return kit.model(inputs, raw_output(kit, inputs, x), name=name)
    factor = downsample * scale
    x = kit.conv(x, 3 * factor * factor, 3, name="upsample_conv")
    if adapt:
        x = kit.depth_to_space(x, factor, name="pixel_shuffle")
        outputs = kit.crop_to_match(x, inputs, scale, name="srgb")
    else:
        outputs = kit.depth_to_space(x, factor, name="srgb")
    return kit.model(inputs, outputs, name=name)


def mobile_resnet_se(
    blocks: int = 6,
    filters: int = 32,
    use_se: bool = True,
    se_reduction: int = 8,
    leaky_slope: float = 0.0,
    res_scale: float = 1.0,
    in_channels: int = 4,
    scale: int = 2,
    downsample: int = 2,
    any_size: bool = True,
    head: str = "srgb",
    name: str = "mobile_resnet_se",
):
    """Builds the fast ResNet-SE variant (see the module docstring) as a Keras 3 model.

    Args:
        blocks / filters: trunk depth and width.
        se_reduction: SE bottleneck C → C/r → C.
        leaky_slope: 0 (default) = ReLU.
        in_channels / scale: 4 and 2 for Bayer, 9 and 3 for X-Trans.
        downsample: space_to_depth factor in front of the trunk (1 = none).
        any_size: pad the input to a multiple of `downsample` and crop the output back, so any
            H×W works. False drops those shape-dependent ops (H, W must then be multiples of
            `downsample`): the int8 TFLite graph then stays inside XNNPACK and runs ~2–3× faster.
        head: "srgb" (above) or "raw": conv3×3 to in_channels·downsample², depth_to_space back
            to the packed resolution, added to the input → `raw` (None, H, W, in_channels).

    Example:
    >>> model = mobile_resnet_se()
    >>> model(np.zeros((1, 37, 51, 4), "float32")).shape
    TensorShape([1, 74, 102, 3])
    """
    return mobile_resnet_se_graph(
        Keras3Kit(), blocks=blocks, filters=filters, use_se=use_se, se_reduction=se_reduction,
        leaky_slope=leaky_slope, res_scale=res_scale, in_channels=in_channels, scale=scale,
        downsample=downsample, any_size=any_size, head=head, name=name,
    )
