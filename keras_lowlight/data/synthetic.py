"""SID-like RAW scenes made on any machine from bundled photographs and procedural scenes.

Each scene is what the SID camera would have written: a well exposed 10 s long exposure and a
few dark short exposures (0.1 s, 0.04 s, 0.033 s → ratios 100, 250, 303), all genuine DNG files
with SID's file names. The long exposure is a clean image unprocessed to linear camera RAW
(`keras_lowlight.runtime.unprocess`, Brooks et al. 2019); each short frame is that RAW divided by the
ratio with calibrated noise added (`keras_lowlight.data.noise`, ELD, Wei et al. 2020). Two cameras:
`sony` (a7S II: RGGB, black 512, white 16383) and `fuji` (X-T2: 6×6 X-Trans, black 1024,
white 16383, the approximate X-T2 noise profile). Everything is seeded: the same scene id
always gives the same bytes.

Splits (no photograph is used in two splits; see `tfds_sid/sid/README.md` for credits):
* train: whole photographs — motorcycle_left + motorcycle_right (a stereo pair, kept
  together), rocket, and the grey-level camera, brick, grass (achromatic scenes) — plus
  procedural dead-leaves scenes (`keras_lowlight.data.procedural`) coloured from the train photos;
* validation: chelsea and coffee, whole;
* test: 512×512 windows of the photographs no other split touches (hubble_deep_field ×2,
  retina ×4, astronaut, immunohistochemistry, matplotlib's grace_hopper, the grey-level
  gravel), each window shot twice with independent camera colour matrix, white balance, ISO
  and noise: 20 scenes.
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_lowlight.data import noise as noise_lib
from keras_lowlight.runtime import unprocess as unprocess_lib
from keras_lowlight.runtime.dng import write_dng
from keras_lowlight.runtime.packing import XTRANS_REFERENCE

LONG_EXPOSURE = 10.0
SHORT_EXPOSURES = (0.1, 0.04, 0.033)  # SID's Sony short exposures: ratios 100, 250, 303
LEAVES = "procedural:dead_leaves"  # the `source` of a procedural scene
LEAVES_SIZE = (256, 256)
LEAVES_SCENES = 32
TEST_SIZE = (512, 512)
TEST_SHOTS = 2  # independent shots (camera colour, white balance, ISO, noise) of each test window

# Whole photographs (cropped to whole X-Trans periods) per split; test windows separately.
TRAIN_PHOTOS = (
    "motorcycle_left.png", "motorcycle_right.png", "rocket.jpg",
    "camera.png", "brick.png", "grass.png",
)
VALIDATION_PHOTOS = ("chelsea.png", "coffee.png")
# Test: (photograph, top-left corners of its 512×512 windows); overlaps are thin strips at most.
TEST_WINDOWS = (
    ("astronaut.png", ((0, 0),)),
    ("retina.jpg", ((190, 190), (190, 710), (710, 190), (710, 710))),
    ("matplotlib:grace_hopper.jpg", ((44, 0),)),
    ("hubble_deep_field.jpg", ((0, 0), (360, 488))),
    ("ihc.png", ((0, 0),)),
    ("gravel.png", ((0, 0),)),  # grey-level: an achromatic, finely textured scene
)
# SID's convention: the scene id's first digit is the split.
SPLIT_PREFIX = {"train": 0, "test": 1, "validation": 2}


@dataclass(frozen=True)
class Camera:
    """What a synthetic camera writes: CFA, levels, names, and its noise profile."""

    name: str
    cfa_pattern: str
    black_level: int
    white_level: int
    make: str
    model: str
    extension: str
    noise_resource: str


CAMERAS = {
    "sony": Camera("sony", "RGGB", 512, 16383, "Sony", "ILCE-7SM2", "ARW", noise_lib.CAMERA_RESOURCES["sony"]),
    "fuji": Camera("fuji", XTRANS_REFERENCE, 1024, 16383, "FUJIFILM", "X-T2", "RAF", noise_lib.CAMERA_RESOURCES["fuji"]),
}
PERIOD = 6  # scene sides are whole X-Trans periods, so both cameras get the same scenes


@dataclass(frozen=True)
class ScenePlan:
    """Where a scene comes from: its id, source (photograph or procedural) and window."""

    scene_id: int
    split: str
    source: str
    top: int
    left: int
    height: int
    width: int
    shot: int = 0  # which independent shot of the same window (test split)


@functools.lru_cache(maxsize=16)
def _photo(name: str) -> np.ndarray:
    if name.startswith("matplotlib:"):
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "sample_data" / name.partition(":")[2]
    else:
        import skimage.data

        path = Path(skimage.data.__file__).parent / name
    import skimage.io

    image = skimage.io.imread(path)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3].astype(np.float64) / 255.0
    image.flags.writeable = False
    return image


def load_photo(name: str) -> np.ndarray:
    """A bundled photograph as float64 RGB in [0, 1]: scikit-image's `skimage/data` by file
    name, or matplotlib's sample data as `matplotlib:<file>`."""
    return _photo(name)


@functools.lru_cache(maxsize=1)
def train_palette_pixels(count: int = 20000) -> np.ndarray:
    """Pixels of the colour training photographs, for the procedural scenes' colours."""
    rng = np.random.default_rng(0)
    pixels = [load_photo(name).reshape(-1, 3) for name in TRAIN_PHOTOS[:3]]
    pixels = np.concatenate(pixels)
    return pixels[rng.integers(0, len(pixels), count)].astype(np.float32)


def _whole(split: str, name: str, index: int) -> ScenePlan:
    h, w = load_photo(name).shape[:2]
    ch, cw = h // (2 * PERIOD) * 2 * PERIOD, w // (2 * PERIOD) * 2 * PERIOD
    return ScenePlan(SPLIT_PREFIX[split] * 10000 + index, split, name, (h - ch) // 2, (w - cw) // 2, ch, cw)


def scene_plans(split: str) -> list[ScenePlan]:
    """All scenes of a split, in a fixed order (deterministic ids)."""
    if split == "train":
        plans = [_whole(split, name, i + 1) for i, name in enumerate(TRAIN_PHOTOS)]
        first = len(plans) + 1
        plans += [ScenePlan(first + i, split, LEAVES, 0, 0, *LEAVES_SIZE) for i in range(LEAVES_SCENES)]
        return plans
    if split == "validation":
        return [_whole(split, name, i + 1) for i, name in enumerate(VALIDATION_PHOTOS)]
    if split == "test":
        # Shot-major and round-robin over the photographs, so any first N scenes (an evaluation
        # with `limit`) already span different photographs.
        queues = [[(name, corner) for corner in corners] for name, corners in TEST_WINDOWS]
        windows = [queue[i] for i in range(max(map(len, queues))) for queue in queues if i < len(queue)]
        plans = []
        for shot in range(TEST_SHOTS):
            for name, (top, left) in windows:
                scene_id = SPLIT_PREFIX[split] * 10000 + len(plans) + 1
                plans.append(ScenePlan(scene_id, split, name, top, left, *TEST_SIZE, shot=shot))
        return plans
    raise ValueError(f"unknown split {split!r}")


def scene_image(plan: ScenePlan, seed: int = 0) -> np.ndarray:
    """The clean sRGB image of a scene (a photograph window or a procedural scene)."""
    if plan.source == LEAVES:
        from keras_lowlight.data import procedural

        rng = np.random.default_rng([seed, plan.scene_id, 1])
        return procedural.dead_leaves(rng, (plan.height, plan.width), train_palette_pixels()).astype(np.float64)
    photo = load_photo(plan.source)
    return photo[plan.top : plan.top + plan.height, plan.left : plan.left + plan.width]


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


def make_scene(plan: ScenePlan, seed: int = 0, camera: str = "sony") -> SceneFiles:
    """Builds one scene's long and short DNGs, reproducibly from (seed, scene id, camera)."""
    cam = CAMERAS[camera]
    model = noise_lib.NoiseModel.load(cam.noise_resource)
    rng = np.random.default_rng([seed, plan.scene_id])
    image = scene_image(plan, seed)
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    if cam.cfa_pattern != "RGGB":
        h, w = h // PERIOD * PERIOD, w // PERIOD * PERIOD
    clean, _, meta = unprocess_lib.unprocess(image[:h, :w], rng, cam.cfa_pattern)
    black, white = cam.black_level, cam.white_level
    params = model.sample_params(rng)  # one ISO (gain) per scene, as SID shot each scene
    params = noise_lib.NoiseParams(**{**params.__dict__, "black_level": float(black), "white_level": float(white)})
    iso = params.iso
    common = dict(
        cfa_pattern=cam.cfa_pattern,
        black_level=black,
        white_level=int(white),
        make=cam.make,
        model=cam.model,
        iso=iso,
        as_shot_neutral=meta.as_shot_neutral,
        color_matrix=meta.xyz2cam,
    )
    long_dn = np.clip(np.rint(clean * (white - black) + black), 0, white).astype(np.uint16)
    long_name = f"{plan.scene_id:05d}_00_{LONG_EXPOSURE:g}s.{cam.extension}"
    long_bytes = _dng_bytes(long_dn, exposure_time=LONG_EXPOSURE, **common)
    shorts = []
    for exposure in SHORT_EXPOSURES:
        ratio = LONG_EXPOSURE / exposure
        raw = noise_lib.short_exposure_raw(clean, ratio, params, rng)
        name = f"{plan.scene_id:05d}_00_{exposure:g}s.{cam.extension}"
        shorts.append((name, _dng_bytes(raw, exposure_time=exposure, **common)))
    return SceneFiles(plan.scene_id, long_name, long_bytes, shorts, iso)


def scene_bytes_total(scene: SceneFiles) -> int:
    return len(scene.long_bytes) + sum(len(b) for _, b in scene.shorts)


__all__ = ["ScenePlan", "SceneFiles", "scene_plans", "make_scene", "load_photo", "CAMERAS"]
