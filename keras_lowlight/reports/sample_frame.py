"""One short exposure of a dataset scene written back as a genuine RAW file (DNG) for pictures.

The demo and every model card show `lowlight enhance` on such a file. A RAW-domain model renders
with the colour the file declares, so the DNG must carry the scene's own white balance
(AsShotNeutral) and XYZ→camera matrix, not the writer's defaults: a default neutral tints the
picture (the first demo's shipped-model column came out yellow for exactly that reason).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_lowlight.runtime.dng import write_dng
from keras_lowlight.runtime.enhance import RAW_EXTENSIONS


def as_text(value) -> str:
    """A TFDS string field (bytes once decoded by as_numpy_iterator) as str."""
    return value.decode() if isinstance(value, bytes) else str(value)


def middle_ratio_index(scene: dict) -> int:
    """The scene's short exposure at its middle amplification ratio (×250 of 100/250/300)."""
    ratios = scene["short"]["ratio"]
    return int(np.argsort(ratios)[len(ratios) // 2])


def write_scene_short(scene: dict, folder: str | Path, index: int | None = None) -> tuple[Path, int]:
    """Writes short exposure `index` (default: the middle ratio) of a TFDS `sid` scene (numpy) as a
    DNG in `folder`, under its SID file name; returns the path and the index used."""
    short = scene["short"]
    i = middle_ratio_index(scene) if index is None else index
    file = as_text(short["file"][i])
    name = file if Path(file).suffix.lower() in RAW_EXTENSIONS else f"{file}.dng"
    make, _, model_name = as_text(scene.get("camera", "")).partition(" ")
    colour = {}
    if "white_balance" in scene:
        gains = np.asarray(scene["white_balance"], np.float64)  # (R, G, B) multipliers, G = 1
        colour["as_shot_neutral"] = tuple(float(v) for v in gains[1] / gains)
    if "xyz_to_cam" in scene:
        colour["color_matrix"] = np.asarray(scene["xyz_to_cam"], np.float64)
    path = write_dng(
        Path(folder) / name, short["raw"][i], as_text(scene["cfa_pattern"]),
        black_level=tuple(float(b) for b in scene["black_levels"]), white_level=int(scene["white_level"]),
        exposure_time=float(short["exposure"][i]), iso=int(short["iso"][i]),
        **({"make": make, "model": model_name} if model_name else {}), **colour,
    )
    return path, i
