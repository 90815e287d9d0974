"""The amplification-only baseline every trained model must beat.

The short frame multiplied by the ratio (what SID calls the "scaled input"), demosaiced
bilinearly from its packed channels, then given the *best possible* colour rendering: a 3×3
linear colour transform fitted by least squares to that very image's ground truth, followed by
the BT.709 curve LibRaw's `postprocess` uses. The colour fit is an oracle, so the baseline's
remaining error is the noise (and demosaicing) alone — the part a denoiser must remove — and
any margin a model shows over it is conservative.
"""

from __future__ import annotations

import numpy as np

# LibRaw/dcraw default output curve: BT.709, power 1/2.222 with a linear toe of slope 4.5.
_POWER, _SLOPE = 1 / 2.222, 4.5
_BREAK = 0.018


def bt709_encode(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear < _BREAK, linear * _SLOPE, 1.099 * np.power(linear, _POWER) - 0.099)


def bt709_decode(encoded: np.ndarray) -> np.ndarray:
    encoded = np.clip(encoded, 0.0, 1.0)
    return np.where(encoded < _BREAK * _SLOPE, encoded / _SLOPE, np.power((encoded + 0.099) / 1.099, 1 / _POWER))


def packed_to_rgb(packed: np.ndarray) -> np.ndarray:
    """Packed (h, w, 4|9) → linear camera RGB at packed resolution."""
    if packed.shape[-1] == 4:  # R, G1, B, G2
        return np.stack([packed[..., 0], (packed[..., 1] + packed[..., 3]) / 2, packed[..., 2]], -1)
    if packed.shape[-1] == 9:  # SID X-Trans: R = {0, 3}, B = {2, 4}, G = {1, 5, 6, 7, 8}
        r = packed[..., [0, 3]].mean(-1)
        g = packed[..., [1, 5, 6, 7, 8]].mean(-1)
        b = packed[..., [2, 4]].mean(-1)
        return np.stack([r, g, b], -1)
    raise ValueError(f"packed image must have 4 or 9 channels, got {packed.shape[-1]}")


def _upsample(rgb: np.ndarray, scale: int, out_hw: tuple[int, int]) -> np.ndarray:
    import tensorflow as tf

    up = tf.image.resize(rgb[None], out_hw, method="bilinear")[0].numpy()
    return up


def amplify_only(packed: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Baseline sRGB (H, W, 3) in [0, 1] for one amplified packed input and its ground truth."""
    h, w = target.shape[:2]
    scale = h // packed.shape[0]
    linear = _upsample(packed_to_rgb(packed.astype(np.float32)), scale, (h, w))
    x = linear.reshape(-1, 3).astype(np.float64)
    y = bt709_decode(target.reshape(-1, 3).astype(np.float64))
    matrix, *_ = np.linalg.lstsq(x, y, rcond=None)
    return bt709_encode((x @ matrix).reshape(h, w, 3)).astype(np.float32)
