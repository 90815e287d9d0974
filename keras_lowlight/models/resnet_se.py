"""ResNet-SE of Maharjan et al., *Improving Extreme Low-light Image Denoising via Residual
Learning*, ICME 2019: an EDSR-style residual trunk with squeeze-and-excitation in every block,
on SID's packed RAW, upsampled to sRGB by a pixel shuffle.
"""

from __future__ import annotations

from typing import Any

from keras_lowlight.models.kit import Keras3Kit, LayerKit, Tensor, check_choice, check_positive_int, raw_output

UPSAMPLING_KINDS = ("pixel_shuffle", "transposed", "nearest")


def check_trunk_args(blocks, filters, se_reduction, leaky_slope, res_scale, in_channels, scale) -> None:
    check_positive_int("blocks", blocks)
    check_positive_int("filters", filters)
    check_positive_int("se_reduction", se_reduction)
    check_positive_int("in_channels", in_channels)
    check_positive_int("scale", scale)
    if not isinstance(leaky_slope, (int, float)) or not 0 <= leaky_slope < 1:
        raise ValueError(f"`leaky_slope` must be a number in [0, 1). Received: leaky_slope={leaky_slope!r}")
    if not isinstance(res_scale, (int, float)) or not res_scale > 0:
        raise ValueError(f"`res_scale` must be a number > 0. Received: res_scale={res_scale!r}")


def residual_trunk(
    kit: LayerKit, x: Tensor, blocks: int, filters: int, use_se: bool, se_reduction: int, leaky_slope: float,
    res_scale: float,
) -> Tensor:
    """head-features → N residual blocks → conv3×3 → + head-features (EDSR's global skip)."""
    skip = x
    for i in range(blocks):
        x = kit.residual_block(
            x, filters, res_scale=res_scale, leaky_slope=leaky_slope, use_se=use_se, se_reduction=se_reduction,
            name=f"block_{i + 1:02d}",
        )
    x = kit.conv(x, filters, 3, name="trunk_conv")
    return kit.add(skip, x, name="global_skip")


def upsample(kit: LayerKit, x: Tensor, filters: int, scale: int, kind: str) -> Tensor:
    """(H, W, filters) → (scale·H, scale·W, filters), three interchangeable ways."""
    if kind == "pixel_shuffle":  # the paper's: conv to filters·s², then depth_to_space
        x = kit.conv(x, filters * scale * scale, 3, name="upsample_conv")
        return kit.depth_to_space(x, scale, name="pixel_shuffle")
    if kind == "transposed":  # kernel 2s, stride s: every output pixel gets 2×2 taps, no checkerboard
        return kit.conv_transpose(x, filters, 2 * scale, scale, name="upsample_transposed")
    if kind == "nearest":
        x = kit.nearest_upsample(x, scale, name="upsample_nearest")
        return kit.conv(x, filters, 3, name="upsample_conv")
    raise ValueError(f"`upsampling` must be one of {UPSAMPLING_KINDS}. Received: upsampling={kind!r}")


def resnet_se_graph(
    kit: LayerKit,
    blocks: int = 16,
    filters: int = 64,
    use_se: bool = True,
    se_reduction: int = 16,
    leaky_slope: float = 0.2,
    res_scale: float = 1.0,
    in_channels: int = 4,
    scale: int = 2,
    upsampling: str = "pixel_shuffle",
    any_size: bool = True,
    head: str = "srgb",
    name: str = "resnet_se",
) -> Any:
    check_trunk_args(blocks, filters, se_reduction, leaky_slope, res_scale, in_channels, scale)
    check_choice("upsampling", upsampling, UPSAMPLING_KINDS)
    check_choice("head", head, ("srgb", "raw"))
    inputs = kit.input(in_channels, name="packed_raw")
    x = kit.conv(inputs, filters, 3, name="head")
    x = residual_trunk(kit, x, blocks, filters, use_se, se_reduction, leaky_slope, res_scale)
    if head == "raw":  # stays at the packed resolution: no upsampler
        residual = kit.conv(x, in_channels, 3, name="raw_residual", zeros=True)
        return kit.model(inputs, raw_output(kit, inputs, residual), name=name)
    x = upsample(kit, x, filters, scale, upsampling)
    outputs = kit.conv(x, 3, 3, name="srgb")
    return kit.model(inputs, outputs, name=name)


def resnet_se(
    blocks: int = 16,
    filters: int = 64,
    use_se: bool = True,
    se_reduction: int = 16,
    leaky_slope: float = 0.2,
    res_scale: float = 1.0,
    in_channels: int = 4,
    scale: int = 2,
    upsampling: str = "pixel_shuffle",
    any_size: bool = True,
    head: str = "srgb",
    name: str = "resnet_se",
):
    """Builds ResNet-SE as a Keras 3 functional model.

    head conv3×3 (in→filters) → `blocks` × ResidualBlock → conv3×3 → + head (global skip) →
    upsampler (×`scale`) → conv3×3 → 3. Input `packed_raw` (None, None, None, in_channels),
    output `srgb` (None, scale·H, scale·W, 3), any H×W.

    Args:
        blocks: residual blocks (paper: 16 or 32).
        filters: trunk width (paper: 64).
        use_se / se_reduction: squeeze-and-excitation in each block, C → C/r → C.
        leaky_slope: LeakyReLU slope inside the blocks; 0 gives ReLU.
        res_scale: residual scaling; 1.0 as in the authors' PyTorch code, 0.1 as in EDSR.
        in_channels / scale: 4 and 2 for Bayer, 9 and 3 for X-Trans.
        upsampling: "pixel_shuffle" (paper), "transposed" or "nearest".
        any_size: accepted for a uniform preset interface; ResNet-SE never rounds sizes, so
            both values build the same graph.
        head: "srgb" (the paper's, above) or "raw": trunk → conv3×3 → in_channels, added to the
            input → `raw` (None, H, W, in_channels), the clean packed RAW (no upsampler).

    Example:
    >>> model = resnet_se()          # ResNet-SE-16, 1,379,715 parameters
    >>> model(np.zeros((1, 37, 51, 4), "float32")).shape
    TensorShape([1, 74, 102, 3])
    """
    return resnet_se_graph(
        Keras3Kit(), blocks=blocks, filters=filters, use_se=use_se, se_reduction=se_reduction,
        leaky_slope=leaky_slope, res_scale=res_scale, in_channels=in_channels, scale=scale,
        upsampling=upsampling, any_size=any_size, head=head, name=name,
    )
