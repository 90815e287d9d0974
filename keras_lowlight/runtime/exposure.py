"""`--ratio auto`: the amplification ratio estimated from the frame itself.

SID's models expect the short exposure amplified to the brightness of the long exposures they
were trained on; SID's own scripts take the ratio from the file names, which a user's own photo
does not have (cchen156/Learning-to-See-in-the-Dark issues ask what ratio to use). The rule here:

    signal = mean over the whole mosaic of (x − black[site]) / (white − black[site]), NOT clipped
    ratio  = clip(TARGET_SIGNAL / signal, 1, 300)

The mean is unclipped because read noise is zero-mean around the black level: clipping negatives
to zero (as the model input does) would bias a dark frame's level upwards, most at the highest
ratios. `TARGET_SIGNAL` is the median of that same statistic over the clean long exposures the
models train on (the 46 `sid/synthetic` training scenes; `benchmarks/auto_ratio.py` recomputes it
and reports how well the rule recovers the true ratios of the test frames). A frame whose signal
would need more than `MAX_AUTO_RATIO` (4 × SID's cap: under ~1e-4 of the range, ~1.6 DN on a
14-bit sensor) has no usable signal — a lens cap, or the wrong black level — and is refused.

numpy only (no TensorFlow): the LiteRT path, the web client and the Android sample use the same
rule, stated in the model contract (`contract.PREPROCESSING["ratio"]["auto"]`).
"""

from __future__ import annotations

import numpy as np

from keras_lowlight.runtime.conventions import MAX_RATIO
from keras_lowlight.runtime.errors import RawReadError

TARGET_SIGNAL = 0.121  # median mean level of the sid/synthetic training long exposures (benchmarks/auto_ratio.py)
MAX_AUTO_RATIO = 4 * MAX_RATIO


class NoSignalError(RawReadError):
    """A frame too dark (or too badly black-levelled) to estimate an exposure from: a per-file
    error like an unreadable file (the others of a batch go on)."""


def signal_level(image) -> float:
    """Mean black-subtracted level of a `RawImage`, in [0, 1] of its range, unclipped."""
    mosaic = np.asarray(image.mosaic, np.float32)
    black = image.black_map()
    total = 0.0
    for y in range(0, mosaic.shape[0], 512):  # row blocks: no frame-sized float temporaries
        rows = slice(y, y + 512)
        total += float(np.sum((mosaic[rows] - black[rows]) / (np.float32(image.white_level) - black[rows]),
                              dtype=np.float64))
    return total / mosaic.size


def estimate_ratio(image) -> float:
    """The automatic amplification ratio of a frame (see the module docstring)."""
    signal = signal_level(image)
    if not signal > TARGET_SIGNAL / MAX_AUTO_RATIO:
        raise NoSignalError(
            image.path, f"no usable signal for --ratio auto (mean level {signal:.2e} of the range above the "
            f"black level; it would need more than ×{MAX_AUTO_RATIO:g}); give --ratio explicitly"
        )
    return float(min(max(TARGET_SIGNAL / signal, 1.0), MAX_RATIO))


# The rule as the model contract states it for other implementations (web, Android).
CONTRACT_RULE = {
    "statistic": "mean over the whole mosaic of (x - black[site]) / (white - black[site]), NOT clipped",
    "target_signal": TARGET_SIGNAL,
    "max_auto_ratio": MAX_AUTO_RATIO,
    "rule": "ratio = clip(target_signal / statistic, 1, max)",
    "no_signal": f"statistic <= target_signal / {MAX_AUTO_RATIO:g}: refuse the frame (no usable signal)",
    "when": "asked for (`lowlight enhance --ratio auto`); not yet the default (the web and Android clients "
            "must implement it first, so all clients keep agreeing)",
}
