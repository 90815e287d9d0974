"""SID-like RAW scenes made on any machine from photographs shipped inside scikit-image.

Each scene is what the SID camera would have written: a well exposed 10 s long exposure and a
few dark short exposures (0.1 s, 0.04 s, 0.033 s → ratios 100, 250, 303), all genuine DNG files
with SID's file names. The long exposure is a clean photograph unprocessed to linear camera RAW
(`keras_lowlight.unprocess`, Brooks et al. 2019); each short frame is that RAW divided by the
ratio with calibrated Sony a7S II noise added (`keras_lowlight.noise`, ELD, Wei et al. 2020).
Everything is seeded: the same scene id always gives the same bytes.

Source photographs (scikit-image `skimage/data`, see its README for licences and credits):
train = astronaut, hubble_deep_field, retina, motorcycle_left + motorcycle_right (a stereo
pair, kept together), ihc; validation = chelsea; test = rocket, coffee. No photograph is used in
two splits; large photographs are cut into non-overlapping tiles.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_lowlight import noise as noise_lib
from keras_lowlight import unprocess as unprocess_lib
from keras_lowlight.dng import write_dng

LONG_EXPOSURE = 10.0
SHORT_EXPOSURES = (0.1, 0.04, 0.033)  # SID's Sony short exposures: ratios 100, 250, 303
TRAIN_TILE = 256
# Tiles darker or flatter than this (retina's black surround) carry no scene to learn from.
MIN_TILE_MEAN = 0.06
MIN_TILE_STD = 0.02

# split → (photograph file name in skimage/data, scene size (h, w)), cut into non-overlapping tiles.
SOURCES: dict[str, tuple[tuple[str, tuple[int, int]], ...]] = {
    "train": (
        ("astronaut.png", (TRAIN_TILE, TRAIN_TILE)),
        ("hubble_deep_field.jpg", (TRAIN_TILE, TRAIN_TILE)),
        ("retina.jpg", (TRAIN_TILE, TRAIN_TILE)),
        ("motorcycle_left.png", (TRAIN_TILE, TRAIN_TILE)),
        ("motorcycle_right.png", (TRAIN_TILE, TRAIN_TILE)),
        ("ihc.png", (TRAIN_TILE, TRAIN_TILE)),
    ),
    "validation": (("chelsea.png", (288, 224)),),
    "test": (("rocket.jpg", (416, 320)), ("coffee.png", (384, 288))),
}
# SID's convention: the scene id's first digit is the split.
SPLIT_PREFIX = {"train": 0, "test": 1, "validation": 2}


@dataclass(frozen=True)
class ScenePlan:
    """Where a scene comes from: its id, source photograph and crop window."""

    scene_id: int
    split: str
    source: str
    top: int
    left: int
    height: int
    width: int


def load_photo(name: str) -> np.ndarray:
    """A photograph bundled in scikit-image's wheel, as float64 RGB in [0, 1]."""
    import skimage.data
    import skimage.io

    path = Path(skimage.data.__file__).parent / name
    image = skimage.io.imread(path)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return image[..., :3].astype(np.float64) / 255.0


def _tiles(height: int, width: int, tile: tuple[int, int]) -> list[tuple[int, int]]:
    th, tw = tile
    rows, cols = height // th, width // tw
    oy, ox = (height - rows * th) // 2, (width - cols * tw) // 2  # centre the grid
    return [(oy + r * th, ox + c * tw) for r in range(rows) for c in range(cols)]


def scene_plans(split: str) -> list[ScenePlan]:
    """All scenes of a split, in a fixed order (deterministic ids)."""
    plans = []
    index = 0
    for name, tile in SOURCES[split]:
        photo = load_photo(name)
        for top, left in _tiles(photo.shape[0], photo.shape[1], tile):
            crop = photo[top : top + tile[0], left : left + tile[1]]
            if crop.mean() < MIN_TILE_MEAN or crop.std() < MIN_TILE_STD:
                continue
            index += 1
            scene_id = SPLIT_PREFIX[split] * 10000 + index
            plans.append(ScenePlan(scene_id, split, name, top, left, tile[0], tile[1]))
    return plans


@dataclass
class SceneFiles:
    """A scene as RAW files: names (SID style) and the bytes of each DNG."""

    scene_id: int
    long_name: str
    long_bytes: bytes
    shorts: list[tuple[str, bytes]]
    iso: int


def _dng_bytes(mosaic: np.ndarray, **kwargs) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_dng(Path(tmp) / "frame.dng", mosaic, **kwargs)
        return path.read_bytes()


def make_scene(plan: ScenePlan, seed: int = 0, model: noise_lib.NoiseModel | None = None) -> SceneFiles:
    """Builds one scene's long and short DNGs, reproducibly from (seed, scene id)."""
    model = model or noise_lib.NoiseModel.load()
    rng = np.random.default_rng([seed, plan.scene_id])
    photo = load_photo(plan.source)[plan.top : plan.top + plan.height, plan.left : plan.left + plan.width]
    clean, _, meta = unprocess_lib.unprocess(photo, rng, "RGGB")
    black, white = model.black_level, model.white_level
    params = model.sample_params(rng)  # one ISO (gain) per scene, as SID shot each scene
    iso = params.iso
    common = dict(
        cfa_pattern="RGGB",
        black_level=black,
        white_level=int(white),
        make="Sony",
        model="ILCE-7SM2",
        iso=iso,
        as_shot_neutral=meta.as_shot_neutral,
        color_matrix=meta.xyz2cam,
    )
    long_dn = np.clip(np.rint(clean * (white - black) + black), 0, white).astype(np.uint16)
    long_name = f"{plan.scene_id:05d}_00_{LONG_EXPOSURE:g}s.ARW"
    long_bytes = _dng_bytes(long_dn, exposure_time=LONG_EXPOSURE, **common)
    shorts = []
    for exposure in SHORT_EXPOSURES:
        ratio = LONG_EXPOSURE / exposure
        raw = noise_lib.short_exposure_raw(clean, ratio, params, rng)
        name = f"{plan.scene_id:05d}_00_{exposure:g}s.ARW"
        shorts.append((name, _dng_bytes(raw, exposure_time=exposure, **common)))
    return SceneFiles(plan.scene_id, long_name, long_bytes, shorts, iso)


def scene_bytes_total(scene: SceneFiles) -> int:
    return len(scene.long_bytes) + sum(len(b) for _, b in scene.shorts)


__all__ = ["ScenePlan", "SceneFiles", "scene_plans", "make_scene", "load_photo", "SOURCES"]
