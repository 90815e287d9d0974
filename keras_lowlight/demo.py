"""The README's main job on the embedded default.

For now: write a genuine DNG with Sony-like levels, read it back through LibRaw, pack it and
show what a user of the later stages will feed the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_lowlight.dng import write_dng
from keras_lowlight.raw import describe, read_raw


def run_demo(output_dir: str | Path) -> None:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    # A dark gradient scene at 1/300 of full exposure, Sony a7S II levels.
    h, w = 424, 636
    scene = np.linspace(0.0, 1.0, w)[None, :] * np.linspace(0.2, 1.0, h)[:, None]
    signal = 512 + scene / 300 * (16383 - 512)
    mosaic = np.clip(rng.poisson(signal) + rng.normal(0, 2.5, (h, w)), 0, 16383).astype(np.uint16)
    path = write_dng(output_dir / "10003_00_0.1s.ARW", mosaic, "RGGB", exposure_time=0.1, iso=6400)
    image = read_raw(path)
    packed = image.packed()
    print(describe(image))
    print(f"packed mean {packed.mean():.5f} → ×300 = {packed.mean() * 300:.3f}")
    print(f"wrote {path}")
