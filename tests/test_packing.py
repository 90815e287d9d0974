"""Packing: canonical Bayer order, SID's X-Trans layout, inverses, and numpy == TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

from keras_lowlight.runtime import packing
from keras_lowlight.runtime.packing import BAYER_PATTERNS, XTRANS_REFERENCE, pack, unpack


def _colour_mosaic(pattern: str, h: int, w: int) -> np.ndarray:
    """Mosaic whose value encodes the colour at each site: R=1, G on R row=2, B=3, G on B row=4."""
    p = int(len(pattern) ** 0.5)
    grid = np.array(list(pattern)).reshape(p, p)
    out = np.zeros((h, w), np.int32)
    for y in range(h):
        for x in range(w):
            c = grid[y % p, x % p]
            if c == "G":
                row = grid[y % p]
                out[y, x] = 2 if "R" in row else 4
            else:
                out[y, x] = {"R": 1, "B": 3}[c]
    return out


@pytest.mark.parametrize("pattern", BAYER_PATTERNS)
def test_bayer_canonical_order(pattern):
    packed = pack(_colour_mosaic(pattern, 8, 10), pattern)
    assert packed.shape == (4, 5, 4)
    for c, value in enumerate([1, 2, 3, 4]):  # R, G1, B, G2
        assert (packed[..., c] == value).all(), (pattern, c)


def test_bayer_rggb_matches_sid_slicing():
    x = np.arange(6 * 8).reshape(6, 8)
    ref = np.stack([x[0::2, 0::2], x[0::2, 1::2], x[1::2, 1::2], x[1::2, 0::2]], -1)
    np.testing.assert_array_equal(pack(x, "RGGB"), ref)


def test_odd_sizes_are_cropped_to_even():
    x = np.arange(7 * 9).reshape(7, 9)
    assert pack(x, "BGGR").shape == (3, 4, 4)


def test_xtrans_hand_computed_block():
    # One 6x6 block with values 0..35 (value = 6*row + col). Expected by reading SID's
    # train_Fuji.py pack_raw: out[py, px, c] for the four output cells of the block.
    x = np.arange(36).reshape(6, 6)
    out = pack(x, XTRANS_REFERENCE)
    expected = np.array(
        [
            # c:  0   1   2   3   4   5   6   7   8
            [[0, 2, 1, 8, 14, 6, 7, 12, 13],  # (py=0, px=0)
             [4, 5, 3, 17, 11, 9, 10, 15, 16]],  # (py=0, px=1)
            [[19, 20, 18, 32, 26, 24, 25, 30, 31],  # (py=1, px=0)
             [21, 23, 22, 29, 35, 27, 28, 33, 34]],  # (py=1, px=1)
        ]
    )
    np.testing.assert_array_equal(out, expected)


def test_xtrans_matches_sid_pack_raw_literally():
    rng = np.random.default_rng(1)
    im = rng.random((24, 36)).astype(np.float32)
    H, W = 24, 36
    out = np.zeros((H // 3, W // 3, 9), np.float32)
    # Transcribed from SID's train_Fuji.py (cchen156/Learning-to-See-in-the-Dark).
    out[0::2, 0::2, 0] = im[0:H:6, 0:W:6]; out[0::2, 1::2, 0] = im[0:H:6, 4:W:6]
    out[1::2, 0::2, 0] = im[3:H:6, 1:W:6]; out[1::2, 1::2, 0] = im[3:H:6, 3:W:6]
    out[0::2, 0::2, 1] = im[0:H:6, 2:W:6]; out[0::2, 1::2, 1] = im[0:H:6, 5:W:6]
    out[1::2, 0::2, 1] = im[3:H:6, 2:W:6]; out[1::2, 1::2, 1] = im[3:H:6, 5:W:6]
    out[0::2, 0::2, 2] = im[0:H:6, 1:W:6]; out[0::2, 1::2, 2] = im[0:H:6, 3:W:6]
    out[1::2, 0::2, 2] = im[3:H:6, 0:W:6]; out[1::2, 1::2, 2] = im[3:H:6, 4:W:6]
    out[0::2, 0::2, 3] = im[1:H:6, 2:W:6]; out[0::2, 1::2, 3] = im[2:H:6, 5:W:6]
    out[1::2, 0::2, 3] = im[5:H:6, 2:W:6]; out[1::2, 1::2, 3] = im[4:H:6, 5:W:6]
    out[0::2, 0::2, 4] = im[2:H:6, 2:W:6]; out[0::2, 1::2, 4] = im[1:H:6, 5:W:6]
    out[1::2, 0::2, 4] = im[4:H:6, 2:W:6]; out[1::2, 1::2, 4] = im[5:H:6, 5:W:6]
    out[:, :, 5] = im[1:H:3, 0:W:3]; out[:, :, 6] = im[1:H:3, 1:W:3]
    out[:, :, 7] = im[2:H:3, 0:W:3]; out[:, :, 8] = im[2:H:3, 1:W:3]
    np.testing.assert_array_equal(pack(im, XTRANS_REFERENCE), out)


def test_xtrans_channel_colours():
    packed = pack(_colour_mosaic(XTRANS_REFERENCE, 12, 12), XTRANS_REFERENCE)
    assert (packed[..., 0] == 1).all() and (packed[..., 3] == 1).all()  # red
    assert (packed[..., 2] == 3).all() and (packed[..., 4] == 3).all()  # blue
    assert np.isin(packed[..., [1, 5, 6, 7, 8]], [2, 4]).all()  # green


def test_xtrans_other_phase_is_aligned():
    grid = np.array(list(XTRANS_REFERENCE)).reshape(6, 6)
    shifted = "".join(np.roll(grid, (2, 1), axis=(0, 1)).ravel())
    layout = packing.layout_for(shifted)
    assert layout.offset == (2, 1)
    x = np.arange(20 * 26).reshape(20, 26)
    # Mosaic whose phase is shifted by (2, 1): dropping 2 rows / 1 column restores SID's phase.
    np.testing.assert_array_equal(pack(x, shifted), pack(x[2:, 1:], XTRANS_REFERENCE))


@pytest.mark.parametrize("pattern", BAYER_PATTERNS + (XTRANS_REFERENCE,))
def test_pack_unpack_identity(pattern):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 65535, (36, 48)).astype(np.uint16)
    packed = pack(x, pattern)
    np.testing.assert_array_equal(unpack(packed, pattern), x)
    np.testing.assert_array_equal(pack(unpack(packed, pattern), pattern), packed)


def test_unsupported_patterns():
    with pytest.raises(ValueError, match="unsupported"):
        packing.layout_for("RGBW")
    with pytest.raises(ValueError, match="unsupported"):
        packing.layout_for("RGB")
    with pytest.raises(ValueError, match="channels|must be"):
        unpack(np.zeros((4, 4, 3)), "RGGB")


@pytest.mark.parametrize("pattern", BAYER_PATTERNS + (XTRANS_REFERENCE,))
def test_tensorflow_equals_numpy(pattern):
    import tensorflow as tf

    from keras_lowlight.runtime.raw import normalize, normalize_tf

    rng = np.random.default_rng(3)
    x = rng.integers(0, 16383, (37, 51)).astype(np.uint16)
    np.testing.assert_array_equal(packing.pack_tf(tf.constant(x), pattern).numpy(), pack(x, pattern))
    packed = pack(x, pattern)
    np.testing.assert_array_equal(packing.unpack_tf(tf.constant(packed), pattern).numpy(), unpack(packed, pattern))
    period = int(len(pattern) ** 0.5)
    blacks = rng.integers(400, 600, period * period)
    np.testing.assert_allclose(
        normalize_tf(tf.constant(x), blacks, 16383, period).numpy(), normalize(x, blacks, 16383, period), rtol=1e-6
    )

    # Inside a traced graph with unknown H, W (as tf.data runs it).
    fn = tf.function(lambda m: packing.pack_tf(m, pattern), input_signature=[tf.TensorSpec([None, None], tf.uint16)])
    np.testing.assert_array_equal(fn(tf.constant(x)).numpy(), pack(x, pattern))
