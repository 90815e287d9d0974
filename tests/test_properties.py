"""Property-based tests (Hypothesis): packing/unpacking and the tiler for any shape, CFA phase,
tile and overlap — output shapes always, exactness wherever it is promised."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keras_lowlight.runtime import packing, engine as runtime
from keras_lowlight.runtime.packing import BAYER_PATTERNS, XTRANS_REFERENCE

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _xtrans_phase(dy: int, dx: int) -> str:
    grid = np.array(list(XTRANS_REFERENCE)).reshape(6, 6)
    return "".join(np.roll(grid, (dy, dx), axis=(0, 1)).ravel())


cfa_patterns = st.one_of(
    st.sampled_from(BAYER_PATTERNS),
    st.builds(_xtrans_phase, st.integers(0, 5), st.integers(0, 5)),
)


@SETTINGS
@given(cfa=cfa_patterns, height=st.integers(1, 70), width=st.integers(1, 70), seed=st.integers(0, 2**16))
def test_pack_is_a_permutation_and_unpack_inverts_it(cfa, height, width, seed):
    layout = packing.layout_for(cfa)
    mosaic = np.random.default_rng(seed).permutation(height * width).reshape(height, width).astype(np.int32)
    h, w = layout.cropped_shape(height, width)
    if h <= 0 or w <= 0:
        with pytest.raises(ValueError):
            packing.pack(mosaic, cfa)
        return
    packed = packing.pack(mosaic, cfa)
    assert packed.shape == layout.packed_shape(height, width)
    assert packed.dtype == mosaic.dtype
    dy, dx = layout.offset
    cropped = mosaic[dy : dy + h, dx : dx + w]
    np.testing.assert_array_equal(np.sort(packed.ravel()), np.sort(cropped.ravel()))  # nothing lost or repeated
    np.testing.assert_array_equal(packing.unpack(packed, cfa), cropped)
    # Every channel holds one colour: the one its CFA sites have.
    colours = np.array(list(cfa)).reshape(layout.period, layout.period)
    site_colour = np.tile(colours, (-(-height // layout.period), -(-width // layout.period)))[:height, :width]
    packed_colour = packing.pack(np.vectorize(ord)(site_colour), cfa)
    assert all(len(np.unique(packed_colour[..., c])) == 1 for c in range(layout.channels))


class BoxFilterEngine:
    """A local model in numpy: 3×3 mean per channel (symmetric border), first 3 channels,
    nearest ×scale upsampling. Its receptive field radius is 1 packed pixel."""

    def __init__(self, channels: int, multiple: int):
        self.channels, self.multiple = channels, multiple
        self.scale = runtime.SCALE_FOR_CHANNELS[channels]
        self.calls = 0

    def run(self, tile: np.ndarray) -> np.ndarray:
        self.calls += 1
        x = np.pad(tile[0].astype(np.float64), ((1, 1), (1, 1), (0, 0)), mode="symmetric")
        h, w = tile.shape[1:3]
        box = sum(x[i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9.0
        up = box[..., :3].repeat(self.scale, axis=0).repeat(self.scale, axis=1)
        return up[None].astype(np.float32)


@SETTINGS
@given(
    channels=st.sampled_from([4, 9]), height=st.integers(1, 90), width=st.integers(1, 90),
    tile=st.integers(1, 160), overlap=st.integers(1, 48), multiple=st.sampled_from([1, 2, 4, 8, 16]),
    seed=st.integers(0, 2**16),
)
def test_tiled_output_equals_untiled_for_any_tile_and_overlap(channels, height, width, tile, overlap, multiple,
                                                              seed):
    engine = BoxFilterEngine(channels, multiple)
    frame = np.random.default_rng(seed).random((height, width, channels), dtype=np.float32)
    rounded_tile = -(-tile // multiple) * multiple
    rounded_overlap = -(-overlap // multiple) * multiple
    if rounded_tile <= 2 * rounded_overlap:
        with pytest.raises(runtime.RuntimeInputError, match="leaves no core"):
            runtime.enhance_frame(engine, frame, tile=tile, overlap=overlap)
        return
    tiled = runtime.enhance_frame(engine, frame, tile=tile, overlap=overlap)
    s = engine.scale
    assert tiled.shape == (height * s, width * s, 3) and tiled.dtype == np.float32
    # overlap ≥ the receptive field radius (1): tiled == untiled, bit for bit, borders included.
    np.testing.assert_array_equal(tiled, runtime.enhance_untiled(engine, frame))
