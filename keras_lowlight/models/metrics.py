"""PSNR and SSIM with one convention everywhere: images clipped to [0, 1], `data_range` = 1.

Published SID numbers disagree partly because some report PSNR on [0, 255] 8-bit images or
unclipped outputs; here every number is on float sRGB in [0, 1], clipped, averaged per image.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

DATA_RANGE = 1.0


def psnr(y_true, y_pred) -> tf.Tensor:
    """Per-image PSNR in dB of clipped predictions, data_range 1."""
    y_pred = tf.clip_by_value(tf.cast(y_pred, tf.float32), 0.0, 1.0)
    return tf.image.psnr(tf.cast(y_true, tf.float32), y_pred, max_val=DATA_RANGE)


def ssim(y_true, y_pred) -> tf.Tensor:
    """Per-image SSIM (Gaussian 11×11, σ 1.5, as Wang et al. 2004) of clipped predictions."""
    y_pred = tf.clip_by_value(tf.cast(y_pred, tf.float32), 0.0, 1.0)
    return tf.image.ssim(tf.cast(y_true, tf.float32), y_pred, max_val=DATA_RANGE)


def delta_e2000_np(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean CIEDE2000 colour difference of two sRGB images (float in [0, 1], clipped), through
    CIELAB (D65) with scikit-image. ~1: just noticeable; > 5: a clearly different colour.
    PSNR barely moves when a whole image shifts hue; ΔE is the number that does."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    a = rgb2lab(np.clip(np.asarray(y_true, np.float64), 0.0, 1.0))
    b = rgb2lab(np.clip(np.asarray(y_pred, np.float64), 0.0, 1.0))
    return float(np.mean(deltaE_ciede2000(a, b)))


def psnr_np(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Numpy PSNR for one image (float arrays in [0, 1])."""
    mse = float(np.mean((np.clip(y_pred, 0, 1).astype(np.float64) - y_true.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(DATA_RANGE**2 / mse)


def ssim_np(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """SSIM of one image pair (float arrays in [0, 1]): the same `ssim` the training logs, as a float."""
    return float(ssim(y_true, y_pred))


@keras.saving.register_keras_serializable(package="keras_lowlight")
class PeakSignalNoiseRatio(keras.metrics.MeanMetricWrapper):
    """Mean per-image PSNR (dB, data_range 1) — logged as `psnr` / `val_psnr`."""

    def __init__(self, name: str = "psnr", dtype=None):
        super().__init__(fn=psnr, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="keras_lowlight")
class StructuralSimilarity(keras.metrics.MeanMetricWrapper):
    """Mean per-image SSIM (data_range 1) — logged as `ssim` / `val_ssim`."""

    def __init__(self, name: str = "ssim", dtype=None):
        super().__init__(fn=ssim, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
