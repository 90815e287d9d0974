"""The RAW head's training loss: L1 in a μ-law tone-mapped space, so shadows count.

A RAW-head model outputs linear sensor values. L1 on linear values weighs an error in the
highlights as much as the same error in the shadows, yet after rendering (white balance, colour
matrix, a ~1/2.2 power curve) a shadow error is several times more visible — and extreme
low-light frames are mostly shadow. So both images are compressed first with the μ-law
T(x) = log(1 + μ·x) / log(1 + μ), μ = 100 (the HDR-imaging curve of Kalantari & Ramamoorthi,
SIGGRAPH 2017): its slope is 21.7 at 0 and ≈ 3.6 at x = 0.05, close to the rendered sRGB curve
through the mid-tones but with a finite gradient at black. Below 0 (a model's raw output can be)
T continues linearly with its slope at 0, so the gradient never blows up or vanishes.

The sRGB head keeps the paper's plain L1 (the target is already tone-mapped sRGB).
"""

from __future__ import annotations

import math

import keras
from keras import ops

MU = 100.0
PACKAGE = "keras_lowlight"


def mu_law(x, mu: float = MU):
    """T(x) above (Keras ops; works on TF tensors inside tf_keras graphs too)."""
    x = ops.convert_to_tensor(x, "float32")
    norm = 1.0 / math.log1p(mu)
    return ops.where(x >= 0, ops.log1p(mu * ops.maximum(x, 0.0)) * norm, mu * norm * x)


def tonemapped_l1(y_true, y_pred, mu: float = MU):
    """Per-pixel mean over channels of |T(ŷ) − T(y)| (reduced over the batch by Keras)."""
    return ops.mean(ops.abs(mu_law(y_pred, mu) - mu_law(y_true, mu)), axis=-1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ToneMappedL1(keras.losses.Loss):
    """L1 between μ-law tone-mapped RAW images: the RAW head's loss for `model.fit`.

    Example:
    >>> model.compile(optimizer="adam", loss=ToneMappedL1())
    """

    def __init__(self, mu: float = MU, name: str = "tonemapped_l1", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not mu > 0:
            raise ValueError(f"`mu` must be > 0. Received: mu={mu!r}")
        self.mu = float(mu)

    def call(self, y_true, y_pred):
        return tonemapped_l1(y_true, y_pred, self.mu)

    def get_config(self):
        return {"mu": self.mu, "name": self.name, "reduction": self.reduction, "dtype": self.dtype}


def loss_for(head: str):
    """The training loss of a head: plain L1 for sRGB (the paper's), μ-law L1 for RAW."""
    if head == "raw":
        return ToneMappedL1()
    if head == "srgb":
        return keras.losses.MeanAbsoluteError()
    raise ValueError(f"`head` must be 'srgb' or 'raw'. Received: head={head!r}")
