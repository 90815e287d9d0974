"""A real sensor's scene as an evaluation set: a well exposed RAW darkened with the noise model.

The synthetic sets are unprocessed photographs; this check starts from what a real sensor wrote
— its CFA, optics, black/white levels, colour matrix and white balance — so every model is also
scored on a real camera's scene. The RAW (by default the Canon EOS 550D `colorchart.dng` of the
`tinydng` 0.1.0 sdist on PyPI, which the tests and `benchmarks/real_sensor.py` fetch into
`~/.cache/keras_lowlight/tinydng/`; nothing downloads at product run time) is the long
exposure; each short frame is that mosaic divided by ×100 / ×250 / ×300 with calibrated noise
added in the file's own DN scale (`noise.short_exposure_raw`: Poisson, Tukey-λ read, row noise,
rounding), written with the file's black level. The noise fits are the Sony a7S II's: no
calibration of the 550D is at hand, so the check measures robustness to a real scene and sensor
layout, with SID-camera-like noise — not the 550D's own noise.

The result is a scene dataset with the `sid` schema (one scene, `bursts` short frames per
ratio), so `keras_lowlight.evaluation.evaluate.evaluate(model, scenes=...)` and `data.eval_pairs` take it
as they take `sid/*`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from keras_lowlight.data import noise as noise_lib

RATIOS = (100.0, 250.0, 300.0)
LONG_EXPOSURE = 10.0  # nominal: only the ratios matter
SCENE_ID = 10001  # a test-split id (SID's 1xxxx)


def default_dng() -> Path:
    """Where the tests and benchmarks cache the tinydng sdist's Canon EOS 550D DNG."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "keras_lowlight" / "tinydng" / "colorchart.dng"


def darkened_example(path: str | os.PathLike, ratios=RATIOS, bursts: int = 2, seed: int = 0,
                     crop: int | None = None) -> dict:
    """One `sid`-schema scene (numpy) from a well exposed RAW file and the noise model.

    Args:
        path: the RAW file (its mosaic is the clean long exposure).
        ratios: darkening ratios; `bursts` independent short frames (own ISO draw) per ratio.
        crop: keep a central crop of this many pixels a side (even), to bound evaluation time.
    """
    from keras_lowlight.runtime import raw

    image = raw.read_raw(path)
    long_srgb = raw.render_srgb(path)
    mosaic = image.mosaic
    if long_srgb.shape[:2] != mosaic.shape:
        raise ValueError(f"{path}: LibRaw's render {long_srgb.shape[:2]} differs from the mosaic {mosaic.shape}")
    if crop is not None:
        top = (mosaic.shape[0] - crop) // 2 // image.period * image.period
        left = (mosaic.shape[1] - crop) // 2 // image.period * image.period
        mosaic = mosaic[top : top + crop, left : left + crop]
        long_srgb = long_srgb[top : top + crop, left : left + crop]
    clean = raw.normalize(mosaic, image.black_levels, image.white_level, image.period)
    black = float(np.mean(image.black_levels))
    model = noise_lib.NoiseModel.load()
    rng = np.random.default_rng([seed, SCENE_ID])
    frames = []
    for ratio in ratios:
        for burst in range(bursts):
            params = model.sample_params(rng)
            params = noise_lib.NoiseParams(**{**params.__dict__, "black_level": black,
                                              "white_level": float(image.white_level)})
            exposure = LONG_EXPOSURE / ratio
            frames.append({
                "raw": noise_lib.short_exposure_raw(clean, ratio, params, rng),
                "exposure": np.float32(exposure),
                "ratio": np.float32(ratio),
                "iso": np.int32(params.iso),
                "file": f"{SCENE_ID:05d}_{burst:02d}_{exposure:g}s_{Path(path).stem}",
                "burst": np.int32(burst),
            })
    short = {key: np.stack([f[key] for f in frames]) for key in frames[0]}
    return {
        "scene_id": np.int32(SCENE_ID),
        "camera": image.camera,
        "cfa_pattern": image.cfa_pattern,
        "black_levels": np.asarray(image.black_levels, np.float32),
        "white_level": np.float32(image.white_level),
        "long_exposure": np.float32(LONG_EXPOSURE),
        "long_file": Path(path).name,
        "long_srgb": long_srgb,
        "long_raw": mosaic,
        "white_balance": np.asarray(image.white_balance, np.float32),
        "xyz_to_cam": np.asarray(image.xyz_to_cam, np.float32),
        "short": short,
    }


def darkened_scenes(path: str | os.PathLike | None = None, **kwargs):
    """`darkened_example` as a one-scene `tf.data.Dataset` with the `sid` schema."""
    from keras_lowlight.data import scenes_from_examples

    return scenes_from_examples([darkened_example(path or default_dng(), **kwargs)])
