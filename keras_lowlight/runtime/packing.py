"""Packing a CFA mosaic into channels, in numpy and in TensorFlow, with identical results.

Both layouts are one gather table over one CFA period ("block"):

* Bayer: a 2×2 block becomes 1×1 pixel of 4 channels, always in canonical **R, G1, B, G2**
  order (G1 shares R's row, G2 shares B's row) whatever the sensor's order (RGGB, BGGR, GRBG,
  GBRG) — the order SID's Sony `pack_raw` produces for the a7S II's RGGB sensor.
* X-Trans: a 6×6 block becomes 2×2 pixels of 9 channels, exactly the mapping of SID's Fuji
  `pack_raw` (cchen156/Learning-to-See-in-the-Dark, `train_Fuji.py`): channels 0–4 take the
  R/G/B/R/B sites at stride 6, channels 5–8 the green sites at stride 3. Sensors whose X-Trans
  phase differs from the X-T2's are first cropped by the shift that aligns them.

So `pack` is a pure permutation of the pixels of the cropped mosaic and `unpack` inverts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf

BAYER_PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")

# The 6×6 X-Trans layout SID's Fuji `pack_raw` assumes (the X-T2 at the visible origin).
XTRANS_REFERENCE = "RBGBRG" "GGRGGB" "GGBGGR" "BRGRBG" "GGBGGR" "GGRGGB"

# SID Fuji pack_raw: for channel c and output parity (py, px), the source site (sy, sx) in the
# 6×6 block. Channels 0-4 read `im[sy:H:6, sx:W:6]` into `out[py::2, px::2, c]`.
_SID_XTRANS_SITES = {
    0: [(0, 0), (0, 4), (3, 1), (3, 3)],  # R
    1: [(0, 2), (0, 5), (3, 2), (3, 5)],  # G
    2: [(0, 1), (0, 3), (3, 0), (3, 4)],  # B
    3: [(1, 2), (2, 5), (5, 2), (4, 5)],  # R
    4: [(2, 2), (1, 5), (4, 2), (5, 5)],  # B
    # Channels 5-8: out[:, :, c] = im[a:H:3, b:W:3], i.e. site (a + 3·py, b + 3·px).
    5: [(1, 0), (1, 3), (4, 0), (4, 3)],
    6: [(1, 1), (1, 4), (4, 1), (4, 4)],
    7: [(2, 0), (2, 3), (5, 0), (5, 3)],
    8: [(2, 1), (2, 4), (5, 1), (5, 4)],
}


@dataclass(frozen=True)
class PackingLayout:
    """How one CFA period maps to packed pixels.

    Attributes:
        kind: "bayer" or "xtrans".
        period: CFA period in pixels (2 or 6).
        offset: (dy, dx) crop applied before packing so the period starts at the right phase.
        cells: packed pixels per block side (1 for Bayer, 2 for X-Trans).
        channels: packed channels (4 or 9).
        index: flat site index (row·period + col) in the block for each (cy, cx, channel), shape
            (cells·cells·channels,) in row-major (cy, cx, c) order.
    """

    kind: str
    period: int
    offset: tuple[int, int]
    cells: int
    channels: int
    index: tuple[int, ...]

    @property
    def scale(self) -> int:
        """Packed pixel size in mosaic pixels (2 for Bayer, 3 for X-Trans)."""
        return self.period // self.cells

    def cropped_shape(self, height: int, width: int) -> tuple[int, int]:
        """Mosaic size actually packed: after the phase offset, floored to whole periods."""
        dy, dx = self.offset
        p = self.period
        return (height - dy) // p * p, (width - dx) // p * p

    def packed_shape(self, height: int, width: int) -> tuple[int, int, int]:
        h, w = self.cropped_shape(height, width)
        return h // self.scale, w // self.scale, self.channels


def _bayer_layout(pattern: str) -> PackingLayout:
    if pattern not in BAYER_PATTERNS:
        raise ValueError(f"unsupported Bayer pattern {pattern!r}; expected one of {BAYER_PATTERNS}")
    grid = [pattern[0:2], pattern[2:4]]
    (ry, rx) = next((y, x) for y in range(2) for x in range(2) if grid[y][x] == "R")
    (by, bx) = next((y, x) for y in range(2) for x in range(2) if grid[y][x] == "B")
    g1 = (ry, 1 - rx)  # the green on the red row
    g2 = (by, 1 - bx)  # the green on the blue row
    sites = [(ry, rx), g1, (by, bx), g2]
    return PackingLayout("bayer", 2, (0, 0), 1, 4, tuple(y * 2 + x for y, x in sites))


def _xtrans_layout(pattern: str) -> PackingLayout:
    grid = np.array(list(pattern)).reshape(6, 6)
    reference = np.array(list(XTRANS_REFERENCE)).reshape(6, 6)
    for dy in range(6):
        for dx in range(6):
            if (np.roll(grid, (-dy, -dx), axis=(0, 1)) == reference).all():
                index = [
                    _SID_XTRANS_SITES[c][cy * 2 + cx][0] * 6 + _SID_XTRANS_SITES[c][cy * 2 + cx][1]
                    for cy in range(2)
                    for cx in range(2)
                    for c in range(9)
                ]
                return PackingLayout("xtrans", 6, (dy, dx), 2, 9, tuple(index))
    raise ValueError(f"unsupported 6x6 CFA layout {pattern!r}: not a phase of the X-Trans layout")


def layout_for(cfa_pattern: str) -> PackingLayout:
    """The packing layout of a CFA pattern string (4 letters Bayer, 36 letters X-Trans)."""
    if len(cfa_pattern) == 4:
        return _bayer_layout(cfa_pattern)
    if len(cfa_pattern) == 36:
        return _xtrans_layout(cfa_pattern)
    raise ValueError(f"unsupported CFA pattern {cfa_pattern!r}: neither 2x2 Bayer nor 6x6 X-Trans")


# === numpy ===


def pack(mosaic: np.ndarray, cfa_pattern: str) -> np.ndarray:
    """H×W mosaic → (H/s)×(W/s)×C packed image, s = 2 (Bayer) or 3 (X-Trans). Keeps dtype."""
    layout = layout_for(cfa_pattern)
    mosaic = np.asarray(mosaic)
    if mosaic.ndim != 2:
        raise ValueError(f"mosaic must be 2-D (H, W), got shape {mosaic.shape}")
    h, w = layout.cropped_shape(*mosaic.shape)
    if h <= 0 or w <= 0:
        raise ValueError(f"mosaic {mosaic.shape} is smaller than one CFA period ({layout.period})")
    p, q, c = layout.period, layout.cells, layout.channels
    dy, dx = layout.offset
    cropped = mosaic[dy : dy + h, dx : dx + w]
    # One strided copy per site of the period (4 Bayer, 36 X-Trans): the permutation of the
    # gather table, ~3× faster than a transpose and a fancy index over the block axis.
    out = np.empty((h // p * q, w // p * q, c), mosaic.dtype)
    for k, site in enumerate(layout.index):  # index is in (cy, cx, channel) row-major order
        cy, cx, channel = k // (q * c), k // c % q, k % c
        sy, sx = divmod(site, p)
        out[cy::q, cx::q, channel] = cropped[sy::p, sx::p]
    return out


def unpack(packed: np.ndarray, cfa_pattern: str) -> np.ndarray:
    """Inverse of `pack`: (H/s)×(W/s)×C → the cropped H×W mosaic (phase offset removed)."""
    layout = layout_for(cfa_pattern)
    packed = np.asarray(packed)
    p, q, c = layout.period, layout.cells, layout.channels
    if packed.ndim != 3 or packed.shape[-1] != c:
        raise ValueError(f"packed image must be (H, W, {c}) for {layout.kind}, got {packed.shape}")
    hb, wb = packed.shape[0] // q, packed.shape[1] // q
    cells = packed[: hb * q, : wb * q].reshape(hb, q, wb, q, c).transpose(0, 2, 1, 3, 4)
    blocks = np.empty((hb, wb, p * p), dtype=packed.dtype)
    blocks[..., np.asarray(layout.index)] = cells.reshape(hb, wb, q * q * c)
    return blocks.reshape(hb, wb, p, p).transpose(0, 2, 1, 3).reshape(hb * p, wb * p)


# === TensorFlow ===


def pack_tf(mosaic: "tf.Tensor", cfa_pattern: str) -> "tf.Tensor":
    """TensorFlow twin of `pack` (same numbers, graph- and tf.data-friendly, dynamic H×W)."""
    import tensorflow as tf

    layout = layout_for(cfa_pattern)
    p, q, c = layout.period, layout.cells, layout.channels
    dy, dx = layout.offset
    mosaic = tf.convert_to_tensor(mosaic)
    shape = tf.shape(mosaic)
    hb, wb = (shape[0] - dy) // p, (shape[1] - dx) // p
    cropped = mosaic[dy : dy + hb * p, dx : dx + wb * p]
    blocks = tf.reshape(cropped, [hb, p, wb, p])
    blocks = tf.reshape(tf.transpose(blocks, [0, 2, 1, 3]), [hb, wb, p * p])
    picked = tf.reshape(tf.gather(blocks, list(layout.index), axis=-1), [hb, wb, q, q, c])
    return tf.reshape(tf.transpose(picked, [0, 2, 1, 3, 4]), [hb * q, wb * q, c])


def unpack_tf(packed: "tf.Tensor", cfa_pattern: str) -> "tf.Tensor":
    """TensorFlow twin of `unpack`."""
    import tensorflow as tf

    layout = layout_for(cfa_pattern)
    p, q, c = layout.period, layout.cells, layout.channels
    inverse = np.argsort(np.asarray(layout.index)).tolist()
    packed = tf.convert_to_tensor(packed)
    shape = tf.shape(packed)
    hb, wb = shape[0] // q, shape[1] // q
    cells = tf.reshape(packed[: hb * q, : wb * q], [hb, q, wb, q, c])
    cells = tf.reshape(tf.transpose(cells, [0, 2, 1, 3, 4]), [hb, wb, q * q * c])
    blocks = tf.reshape(tf.gather(cells, inverse, axis=-1), [hb, wb, p, p])
    return tf.reshape(tf.transpose(blocks, [0, 2, 1, 3]), [hb * p, wb * p])
