r"""Writes `dummy_data/`: miniature SID archives laid out like the real ones.

`Sony.zip` (Bayer RGGB, with SID's list files beside it) and `Fuji.zip` (6×6 X-Trans, no list
files: splits from the file names) hold genuine DNG containers written by
`keras_lowlight.runtime.dng.write_dng` under SID's `.ARW` / `.RAF` names, so the builder reads them
through LibRaw exactly like the real files. Scenes are small unprocessed crops of a scikit-image
photograph with the Sony a7S II noise model applied.

Run from the repository root:
    python -m tfds_sid.sid.dummy_data_generation
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import numpy as np

from keras_lowlight.data import noise, synthetic
from keras_lowlight.runtime import unprocess
from keras_lowlight.runtime.dng import write_dng
from keras_lowlight.runtime.packing import XTRANS_REFERENCE

DUMMY_DIR = Path(__file__).parent / "dummy_data"

# scene id → (long exposure, [(burst, short exposure), ...]); the first digit is the split.
SONY_SCENES = {
    1: (10, [(0, 0.1), (0, 0.04), (1, 0.04)]),
    2: (30, [(0, 0.1)]),
    10003: (10, [(0, 0.033), (1, 0.033)]),
    20004: (10, [(0, 0.1)]),
}
FUJI_SCENES = {
    1: (10, [(0, 0.1), (1, 0.1)]),
    2: (10, [(0, 0.033)]),
    10003: (10, [(0, 0.04)]),
    20004: (10, [(0, 0.1)]),
}
SONY_ISO = {1: 200, 2: 640, 10003: 800, 20004: 250}
SONY_SHAPE = (48, 64)
FUJI_SHAPE = (48, 72)


def _clean_scene(scene: int, shape, cfa: str, rng):
    """A small linear camera mosaic from a crop of a bundled photograph."""
    photo = synthetic.load_photo("coffee.png")
    h, w = shape
    top, left = 40 + 3 * (scene % 50), 60 + 5 * (scene % 50)
    crop = photo[top : top + 4 * h : 4, left : left + 4 * w : 4]
    return unprocess.unprocess(crop, rng, cfa)


def _write_camera(root: Path, camera: str, ext: str, scenes, shape, cfa, black, make, model, seed) -> list[str]:
    model_noise = noise.NoiseModel.load()
    lines = []
    rng = np.random.default_rng(seed)
    white = 16383
    for scene, (long_exp, shorts) in scenes.items():
        clean, _, meta = _clean_scene(scene, shape, cfa, rng)
        iso = SONY_ISO.get(scene, 400)
        common = dict(
            cfa_pattern=cfa, black_level=black, white_level=white, make=make, model=model, iso=iso,
            as_shot_neutral=meta.as_shot_neutral, color_matrix=meta.xyz2cam,
        )
        long_name = f"{scene:05d}_00_{long_exp:g}s.{ext}"
        long_dn = np.clip(np.rint(clean * (white - black) + black), 0, white).astype(np.uint16)
        write_dng(root / camera / "long" / long_name, long_dn, exposure_time=long_exp, **common)
        params = model_noise.sample_params(rng)
        params = noise.NoiseParams(**{**params.__dict__, "black_level": float(black)})
        for burst, exposure in shorts:
            name = f"{scene:05d}_{burst:02d}_{exposure:g}s.{ext}"
            raw = noise.short_exposure_raw(clean, long_exp / exposure, params, rng)
            write_dng(root / camera / "short" / name, raw, exposure_time=exposure, **common)
            lines.append(f"./{camera}/short/{name} ./{camera}/long/{long_name} ISO{iso} F8")
    return lines


def _zip_tree(root: Path, camera: str, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((root / camera).rglob("*")):
            archive.write(path, path.relative_to(root).as_posix())


def main() -> None:
    DUMMY_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for camera in ("Sony", "Fuji"):
            for sub in ("short", "long"):
                (root / camera / sub).mkdir(parents=True)
        sony = _write_camera(root, "Sony", "ARW", SONY_SCENES, SONY_SHAPE, "RGGB", 512, "SONY", "ILCE-7SM2", 1)
        _write_camera(root, "Fuji", "RAF", FUJI_SCENES, FUJI_SHAPE, XTRANS_REFERENCE, 1024, "FUJIFILM", "X-T2", 2)
        _zip_tree(root, "Sony", DUMMY_DIR / "Sony.zip")
        _zip_tree(root, "Fuji", DUMMY_DIR / "Fuji.zip")
    splits = {"train": [], "val": [], "test": []}
    for line in sony:
        digit = line.split("/")[3][0]
        splits[{"0": "train", "1": "test", "2": "val"}[digit]].append(line)
    for tag, lines in splits.items():
        (DUMMY_DIR / f"Sony_{tag}_list.txt").write_text("\n".join(lines) + "\n")
    total = sum(p.stat().st_size for p in DUMMY_DIR.iterdir())
    print(f"wrote {DUMMY_DIR} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
