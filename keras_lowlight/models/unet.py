"""SID's U-Net (Chen et al., *Learning to See in the Dark*, CVPR 2018), rebuilt from the
`network()` function of `train_Sony.py` / `train_Fuji.py` in cchen156/Learning-to-See-in-the-Dark.

Five levels of two conv3×3 + LeakyReLU(0.2) (32-64-128-256-512 filters), 2×2 max-pooling down,
2×2 stride-2 transposed convolutions up, skip concatenation, a 1×1 conv to 3·s² channels and a
depth_to_space(s): 12 → ×2 for Sony/Bayer, 27 → ×3 for Fuji/X-Trans.

Any H×W works, as in SID's code: pooling uses SAME padding (ceil), and SID tells each
transposed convolution the skip's shape, which keeps the top-left part of the upsampled map;
`CropToMatch` does the same here. Sizes that are multiples of 16 (`INPUT_MULTIPLE`) need no
rounding at all, which is what a tiler should prefer; `any_size=False` builds the graph without
the crops (the faster TFLite graph, for inputs that are multiples of 16). The transposed convolutions carry a bias
here (SID's plain `tf.nn.conv2d_transpose` has none): +480 parameters, 7,760,748 in all.
"""

from __future__ import annotations

from typing import Any

from keras_lowlight.models.kit import Keras3Kit, LayerKit, check_choice, check_positive_int, raw_output

LEVELS = 5
INPUT_MULTIPLE = 2 ** (LEVELS - 1)


def _double_conv(kit: LayerKit, x, filters: int, leaky_slope: float, level: int):
    for j in (1, 2):
        x = kit.conv(x, filters, 3, name=f"conv{level}_{j}")
        x = kit.act(x, leaky_slope, name=f"lrelu{level}_{j}")
    return x


def sid_unet_graph(
    kit: LayerKit,
    in_channels: int = 4,
    scale: int = 2,
    base_filters: int = 32,
    leaky_slope: float = 0.2,
    any_size: bool = True,
    head: str = "srgb",
    name: str = "sid_unet",
) -> Any:
    check_choice("head", head, ("srgb", "raw"))
    check_positive_int("in_channels", in_channels)
    check_positive_int("scale", scale)
    check_positive_int("base_filters", base_filters)
    if not isinstance(leaky_slope, (int, float)) or not 0 <= leaky_slope < 1:
        raise ValueError(f"`leaky_slope` must be a number in [0, 1). Received: leaky_slope={leaky_slope!r}")

    inputs = kit.input(in_channels, name="packed_raw")
    x = inputs
    skips = []
    for level in range(1, LEVELS + 1):
        x = _double_conv(kit, x, base_filters * 2 ** (level - 1), leaky_slope, level)
        if level < LEVELS:
            skips.append(x)
            x = kit.max_pool(x, name=f"pool{level}")
    for level in range(LEVELS + 1, 2 * LEVELS):  # 6..9, filters 256..32
        skip = skips.pop()
        filters = base_filters * 2 ** (2 * LEVELS - level - 1)
        x = kit.conv_transpose(x, filters, 2, 2, name=f"up{level}")
        if any_size:
            x = kit.crop_to_match(x, skip, 1, name=f"crop{level}")
        x = kit.concat([x, skip], name=f"concat{level}")
        x = _double_conv(kit, x, filters, leaky_slope, level)
    if head == "raw":  # 1×1 conv to the input's channels, added to the input
        x = kit.conv(x, in_channels, 1, name="conv10", zeros=True)
        return kit.model(inputs, raw_output(kit, inputs, x), name=name)
    x = kit.conv(x, 3 * scale * scale, 1, name="conv10")
    outputs = kit.depth_to_space(x, scale, name="srgb")
    return kit.model(inputs, outputs, name=name)


def sid_unet(
    in_channels: int = 4,
    scale: int = 2,
    base_filters: int = 32,
    leaky_slope: float = 0.2,
    any_size: bool = True,
    head: str = "srgb",
    name: str = "sid_unet",
):
    """Builds SID's U-Net as a Keras 3 functional model (input `packed_raw`, output `srgb`).

    Args:
        in_channels / scale: 4 and 2 (Sony, Bayer) or 9 and 3 (Fuji, X-Trans).
        base_filters: width of the first level, doubled at each of the 5 levels (SID: 32).
        leaky_slope: SID's `lrelu` is max(0.2·x, x).
        any_size: crop each upsampled map to its skip (SID's behaviour), so any H×W works.
            False drops those shape-dependent ops: H, W must then be multiples of 16, and the
            int8 TFLite graph runs ~1.4× faster (the crops keep XNNPACK off the decoder).
        head: "srgb" (SID's) or "raw": the 1×1 tail outputs in_channels, added to the input →
            `raw` (None, H, W, in_channels), the clean packed RAW.

    Example:
    >>> model = sid_unet()           # 7,760,748 parameters
    >>> model(np.zeros((1, 37, 51, 4), "float32")).shape
    TensorShape([1, 74, 102, 3])
    """
    return sid_unet_graph(
        Keras3Kit(), in_channels=in_channels, scale=scale, base_filters=base_filters, leaky_slope=leaky_slope,
        any_size=any_size, head=head, name=name,
    )
