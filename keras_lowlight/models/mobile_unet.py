"""`mobile_unet`: a small multi-scale encoder-decoder for the phone — context where noise needs it.

Heavy noise (×250–×300) needs a wide view to tell texture from noise; `mobile` gets it from
depth at one scale (¼ of the output per side). This design gets it from scale, at similar cost:

    packed_raw (H, W, C) → [pad to a multiple of 8]
    → conv3×3 stride 2 → f1 @ H/2 → ResidualBlock                    (enc1)
    → conv3×3 stride 2 → f2 @ H/4 → ResidualBlock                    (enc2)
    → conv3×3 stride 2 → f3 @ H/8 → N × ResidualBlock(SE) → conv + skip   (bottom: most blocks,
                                                                          1/64 of the pixels)
    → conv1×1 to 4·f2 → depth_to_space(2) → + enc2 → ResidualBlock   (dec2)
    → conv1×1 to 4·f1 → depth_to_space(2) → + enc1 → ResidualBlock   (dec1)
    → conv3×3 to 3·(2s)² → depth_to_space(2s) → [crop] → srgb (s·H, s·W, 3)

Every op is one XNNPACK takes in int8 with a dynamic H×W (measured with
`keras_lowlight.export.delegation`): strided convolutions instead of space_to_depth (int8
SPACE_TO_DEPTH on a dynamic shape falls out of XNNPACK in LiteRT 2.3), pixel shuffles instead
of transposed convolutions or resizes (both need a run-time output-shape computation), additive
skips (no concatenation), ReLU, SE only at the lowest scale. The receptive field at the bottom
is 8 packed pixels per bottom pixel: 2N+1 3×3 convolutions there see ~(2N+3)·8 packed pixels,
plus SE's global context.
"""

from __future__ import annotations

from typing import Any, Sequence

from keras_lowlight.models.kit import Keras3Kit, LayerKit, check_choice, check_positive_int, raw_output
from keras_lowlight.models.resnet_se import residual_trunk

LEVELS = 3  # strided convolutions: the input multiple is 2**LEVELS


def _level_blocks(kit: LayerKit, x, filters: int, count: int, leaky_slope: float, prefix: str):
    for i in range(count):
        x = kit.residual_block(x, filters, res_scale=1.0, leaky_slope=leaky_slope, use_se=False, se_reduction=1,
                               name=f"{prefix}_block_{i + 1:02d}")
    return x


def mobile_unet_graph(
    kit: LayerKit,
    filters: Sequence[int] = (32, 64, 128),
    bottom_blocks: int = 4,
    level_blocks: int = 1,
    use_se: bool = True,
    se_reduction: int = 8,
    leaky_slope: float = 0.0,
    in_channels: int = 4,
    scale: int = 2,
    any_size: bool = True,
    head: str = "srgb",
    full_res_filters: int = 0,
    raw_residual: bool = True,
    name: str = "mobile_unet",
) -> Any:
    filters = tuple(filters)
    if len(filters) != LEVELS:
        raise ValueError(f"`filters` must list {LEVELS} widths (per scale). Received: filters={filters!r}")
    for f in filters:
        check_positive_int("filters", f)
    check_positive_int("bottom_blocks", bottom_blocks)
    check_positive_int("se_reduction", se_reduction)
    check_positive_int("in_channels", in_channels)
    check_positive_int("scale", scale)
    if isinstance(level_blocks, bool) or not isinstance(level_blocks, int) or level_blocks < 0:
        raise ValueError(f"`level_blocks` must be an integer ≥ 0. Received: level_blocks={level_blocks!r}")
    check_choice("head", head, ("srgb", "raw"))
    if isinstance(full_res_filters, bool) or not isinstance(full_res_filters, int) or full_res_filters < 0:
        raise ValueError(f"`full_res_filters` must be an integer ≥ 0. Received: full_res_filters={full_res_filters!r}")
    if full_res_filters and head != "raw":
        raise ValueError("`full_res_filters` is implemented for head='raw' only")
    f0, (f1, f2, f3) = full_res_filters, filters
    inputs = kit.input(in_channels, name="packed_raw")
    x = kit.pad_to_multiple(inputs, 2**LEVELS, name="pad_to_multiple") if any_size else inputs
    enc0 = None
    if f0:  # a level at the packed resolution: the decoder gets the input's fine detail back
        enc0 = _level_blocks(kit, kit.act(kit.conv(x, f0, 3, name="enc0_conv"), leaky_slope, "enc0_act"),
                             f0, level_blocks, leaky_slope, "enc0")
        x = enc0
    enc1 = _level_blocks(kit, kit.act(kit.strided_conv(x, f1, 3, name="enc1_down"), leaky_slope, "enc1_act"),
                         f1, level_blocks, leaky_slope, "enc1")
    enc2 = _level_blocks(kit, kit.act(kit.strided_conv(enc1, f2, 3, name="enc2_down"), leaky_slope, "enc2_act"),
                         f2, level_blocks, leaky_slope, "enc2")
    x = kit.strided_conv(enc2, f3, 3, name="bottom_down")
    x = residual_trunk(kit, x, bottom_blocks, f3, use_se, se_reduction, leaky_slope, 1.0)
    for level, skip, width in ((2, enc2, f2), (1, enc1, f1)):
        x = kit.depth_to_space(kit.conv(x, 4 * width, 1, name=f"dec{level}_up_conv"), 2, name=f"dec{level}_up")
        x = kit.add(x, skip, name=f"dec{level}_skip")
        x = _level_blocks(kit, x, width, level_blocks, leaky_slope, f"dec{level}")
    if enc0 is not None:  # up to the packed resolution, add the full-resolution features
        x = kit.depth_to_space(kit.conv(x, 4 * f0, 1, name="dec0_up_conv"), 2, name="dec0_up")
        x = kit.add(x, enc0, name="dec0_skip")
        x = _level_blocks(kit, x, f0, level_blocks, leaky_slope, "dec0")

    if head == "raw":  # at the packed resolution, in_channels out; the output layer is named `raw`
        # Residual: input + a learned correction (the correction's own last layer is `raw_residual`).
        # Direct: the clean RAW itself — the noise need not pass through the half-resolution
        # bottleneck to be cancelled, which measured far better (benchmarks/results/raw_head_ab.md).
        named_raw = not raw_residual and not any_size  # the graph's last layer is the output itself
        if enc0 is not None:
            x = kit.conv(x, in_channels, 3, name="raw" if named_raw else "output_conv")
        else:
            x = kit.conv(x, in_channels * 4, 3, name="upsample_conv")
            x = kit.depth_to_space(x, 2, name="raw" if named_raw else "pixel_shuffle")
        if any_size:
            x = kit.crop_to_match(x, inputs, 1, name="raw_residual" if raw_residual else "raw")
        return kit.model(inputs, raw_output(kit, inputs, x) if raw_residual else x, name=name)
    factor = 2 * scale
    x = kit.conv(x, 3 * factor * factor, 3, name="upsample_conv")
    if any_size:
        x = kit.depth_to_space(x, factor, name="pixel_shuffle")
        outputs = kit.crop_to_match(x, inputs, scale, name="srgb")
    else:
        outputs = kit.depth_to_space(x, factor, name="srgb")
    return kit.model(inputs, outputs, name=name)


def mobile_unet(
    filters: Sequence[int] = (32, 64, 128),
    bottom_blocks: int = 4,
    level_blocks: int = 1,
    use_se: bool = True,
    se_reduction: int = 8,
    leaky_slope: float = 0.0,
    in_channels: int = 4,
    scale: int = 2,
    any_size: bool = True,
    head: str = "srgb",
    full_res_filters: int = 0,
    raw_residual: bool = True,
    name: str = "mobile_unet",
):
    """Builds the multi-scale mobile encoder-decoder (see the module docstring) as a Keras 3 model.

    Args:
        filters: widths at ½, ¼ and ⅛ of the packed resolution.
        bottom_blocks: residual blocks (with SE) at the lowest scale.
        level_blocks: plain residual blocks per encoder and decoder level.
        in_channels / scale: 4 and 2 for Bayer, 9 and 3 for X-Trans.
        any_size: pad to a multiple of 8 and crop back (any H×W); False drops those
            shape-dependent ops (H, W must be multiples of 8), the graph for LiteRT.
        head: "srgb" or "raw" (the clean packed RAW).
        full_res_filters: width of an extra level at the packed resolution (0: none; RAW head).
        raw_residual: RAW head: output = input + learned correction (True), or the clean RAW
            predicted directly (False).

    Example:
    >>> model = mobile_unet()
    >>> model(np.zeros((1, 37, 51, 4), "float32")).shape
    TensorShape([1, 74, 102, 3])
    """
    return mobile_unet_graph(
        Keras3Kit(), filters=filters, bottom_blocks=bottom_blocks, level_blocks=level_blocks, use_se=use_se,
        se_reduction=se_reduction, leaky_slope=leaky_slope, in_channels=in_channels, scale=scale,
        any_size=any_size, head=head, full_res_filters=full_res_filters, raw_residual=raw_residual, name=name,
    )
