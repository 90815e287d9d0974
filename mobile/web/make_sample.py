"""Writes sample.dng: a dark synthetic test frame (genuine DNG) bundled with the web client.

    python mobile/web/make_sample.py

A crop of the best-lit `sid/synthetic` test scene at its ×250 exposure (0.04 s), with the
Sony-like levels the dataset uses; small enough to ship, large enough to need several tiles.
"""

from pathlib import Path

import numpy as np

from keras_lowlight import data
from keras_lowlight.runtime.dng import write_dng

HERE = Path(__file__).resolve().parent


def main(height: int = 256, width: int = 288) -> Path:
    scenes = list(data.load_scenes("sid/synthetic", "test").as_numpy_iterator())
    scene = max(scenes, key=lambda s: s["long_srgb"].mean())
    short = scene["short"]
    i = int(np.argsort(short["ratio"])[len(short["ratio"]) // 2])
    raw = short["raw"][i]
    height, width = min(height, raw.shape[0]) // 2 * 2, min(width, raw.shape[1]) // 2 * 2
    y0 = (raw.shape[0] - height) // 4 * 2  # even offsets keep the CFA phase
    x0 = (raw.shape[1] - width) // 4 * 2
    return write_dng(
        HERE / "sample.dng", raw[y0 : y0 + height, x0 : x0 + width], scene["cfa_pattern"].decode(),
        black_level=tuple(float(b) for b in scene["black_levels"]), white_level=int(scene["white_level"]),
        exposure_time=float(short["exposure"][i]), iso=int(short["iso"][i]),
    )


if __name__ == "__main__":
    print(f"wrote {main()}")
