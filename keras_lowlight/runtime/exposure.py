"""Automatic exposure: the amplification ratio estimated from the frame itself.

SID's models expect the short exposure amplified to the brightness of the long exposures they
were trained on; SID's own scripts take the ratio from the file names, which a user's own photo
does not have (cchen156/Learning-to-See-in-the-Dark issues ask what ratio to use). So `lowlight
enhance` (and the web and Android clients) use this rule whenever neither a SID file name nor an
explicit `--ratio` / `--target-exposure` gives one. The rule:

    level[pixel] = (x − black[site]) / (white − black[site])     (float64, NOT clipped)
    block        = mean of level over a BLOCK × BLOCK square; whole squares from the top-left corner
    statistic    = median of the block means (numpy's median: the mean of the two middle values
                   when their number is even)
    ratio        = clip(TARGET_SIGNAL / statistic, 1, 300); MAX when statistic <= 0
    refused      when the mean of level over the whole mosaic <= NO_SIGNAL_LEVEL

Why each part:
* black-subtracted and unclipped: read noise is zero-mean around the black level; clipping
  negatives to zero (as the model input does) would bias a dark frame's level upwards.
* 12 × 12 block means first: averaging 144 samples divides the noise of a ×300 frame by 12, so
  the median below is the scene's, not the noise's; 12 is a whole number of Bayer (2×2) and
  X-Trans (6×6) periods, so every block holds each colour in the CFA's own proportions.
* the median rather than the mean (the rule until 2026-12): a photograph's exposure is better
  told by its typical region than by its highlights; on the training split it fits better
  (leave-one-scene-out mean |log error| 0.153 vs 0.169, `benchmarks/auto_ratio.py` reports both).
* `TARGET_SIGNAL` is fitted on the TRAIN split of `sid/synthetic` only (the clean long exposures
  and their short frames that the models train on): the value minimising the mean |log(estimated /
  true ratio)| over its short frames, the cap at 300 included; `benchmarks/auto_ratio.py` recomputes
  it and scores the held-out test split. It is a brightness convention: a scene darker than the
  training scenes (a night sky) is amplified to their brightness, which no frame statistic can
  tell apart from under-exposure.
* no usable signal (a lens cap, the wrong black level): the whole-frame mean, not the median, so a
  mostly black frame with a few bright objects (stars) still gets the maximum ratio instead of a
  refusal. NO_SIGNAL_LEVEL = 1e-5 of the range is ~0.16 DN on a 14-bit sensor: a frame at the
  black level with zero-mean read noise stays far below it, while the faintest held-out test frame
  (a deep-sky window at ×300) has a mean of ~7e-5 (the previous bound, 1e-4, refused it).

numpy only (no TensorFlow): the model contract states the same rule for the web client and the
Android sample (`contract.PREPROCESSING["ratio"]["auto"]`), which implement it from there.
"""

from __future__ import annotations

import numpy as np

from keras_lowlight.runtime.conventions import MAX_RATIO
from keras_lowlight.runtime.errors import RawReadError

TARGET_SIGNAL = 0.192  # fitted on the sid/synthetic 2.0.0 train split (benchmarks/auto_ratio.py)
BLOCK = 12  # pixels of the mosaic per block side: whole Bayer and X-Trans periods
NO_SIGNAL_LEVEL = 1e-5  # whole-frame mean level (of the range) at or below which a frame is refused


class NoSignalError(RawReadError):
    """A frame too dark (or too badly black-levelled) to estimate an exposure from: a per-file
    error like an unreadable file (the others of a batch go on)."""


def _band_levels(image, top: int, bottom: int) -> np.ndarray:
    """Black-subtracted, normalised, unclipped levels of rows top..bottom-1, float64 (`top` is a
    multiple of the CFA period, so the band's black map starts at the pattern's first row)."""
    p = image.period
    tile = np.asarray(image.black_levels, np.float64).reshape(p, p)
    rows, width = bottom - top, np.shape(image.mosaic)[1]
    black = np.tile(tile, (-(-rows // p), -(-width // p)))[:rows, :width]
    return (np.asarray(image.mosaic[top:bottom], np.float64) - black) / (float(image.white_level) - black)


def frame_statistics(image) -> tuple[float, float]:
    """(median of the BLOCK × BLOCK block means, whole-frame mean level) of a `RawImage`.

    One block row at a time, so no frame-sized float temporaries (an 18 MP frame stays cheap).
    A frame smaller than one block has a single block: the whole frame.
    """
    height, width = np.shape(image.mosaic)
    rows, cols = height // BLOCK, width // BLOCK
    if rows == 0 or cols == 0:
        mean = float(_band_levels(image, 0, height).mean())
        return mean, mean
    total = 0.0
    block_means = np.empty((rows, cols), np.float64)
    for r in range(rows):
        levels = _band_levels(image, r * BLOCK, (r + 1) * BLOCK)
        block_means[r] = levels[:, : cols * BLOCK].reshape(BLOCK, cols, BLOCK).mean(axis=(0, 2))
        total += float(levels.sum())
    if rows * BLOCK < height:  # the rows below the last whole block count for the mean
        total += float(_band_levels(image, rows * BLOCK, height).sum())
    return float(np.median(block_means)), total / (height * width)


def signal_level(image) -> float:
    """The rule's statistic: the median block mean (see the module docstring)."""
    return frame_statistics(image)[0]


def ratio_from_statistics(median: float, mean: float, target: float = TARGET_SIGNAL, path: str = "") -> float:
    """The rule on already computed statistics (the benchmark fits `target` with it)."""
    if not mean > NO_SIGNAL_LEVEL:
        raise NoSignalError(
            path, f"no usable signal for --ratio auto (mean level {mean:.2e} of the range above the black "
            f"level, at most {NO_SIGNAL_LEVEL:g}); give --ratio explicitly"
        )
    if not median > 0:
        return MAX_RATIO
    return float(min(max(target / median, 1.0), MAX_RATIO))


def estimate_ratio(image) -> float:
    """The automatic amplification ratio of a frame (see the module docstring)."""
    median, mean = frame_statistics(image)
    return ratio_from_statistics(median, mean, path=image.path)


# The rule as the model contract states it for other implementations (web, Android).
CONTRACT_RULE = {
    "level": "(x - black[site]) / (white - black[site]) per mosaic pixel, float64, NOT clipped",
    "block": BLOCK,
    "statistic": "median of the means of level over whole block x block squares from the top-left "
                 "corner (mean of the two middle values when their number is even; a frame smaller "
                 "than one block: its mean)",
    "target_signal": TARGET_SIGNAL,
    "rule": "ratio = clip(target_signal / statistic, 1, max); max when statistic <= 0",
    "no_signal_level": NO_SIGNAL_LEVEL,
    "no_signal": "mean of level over the whole mosaic <= no_signal_level: refuse the frame (no usable signal)",
    "when": "the default: whenever neither a SID file name (SSSSS_BB_Es.EXT) nor an explicit ratio or "
            "target exposure gives the ratio",
}
