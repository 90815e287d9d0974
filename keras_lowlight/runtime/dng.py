"""Write genuine CFA DNG files.

No camera file can be downloaded in CI, so tests, the TFDS dummy archives and the synthetic
dataset write real RAW containers with this module and read them back through rawpy/LibRaw:
the decoding path under test is the one real ARW/RAF/DNG files take.

DNG 1.4 tags used (Adobe DNG specification): PhotometricInterpretation 32803 (CFA),
CFARepeatPatternDim, CFAPattern, BlackLevel(+RepeatDim), WhiteLevel, ColorMatrix1,
AsShotNeutral, UniqueCameraModel; ExposureTime / ISOSpeedRatings as TIFF/EP tags.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from keras_lowlight.runtime.unprocess import RGB_TO_XYZ

# Adobe DNG colour codes in CFAPattern.
_CFA_CODE = {"R": 0, "G": 1, "B": 2}

# XYZ(D65) -> camera matrix of the Sony ILCE-7SM2 as published in Adobe DNG Converter
# (also dcraw/LibRaw's adobe_coeff table, ×10000); used as the default ColorMatrix1 so that
# LibRaw renders fixture files with a Sony-like colour pipeline.
SONY_A7S2_COLOR_MATRIX = (
    (5838, -1430, -246),
    (-3497, 11477, 2297),
    (-748, 1885, 5778),
)
# Typical daylight AsShotNeutral of that camera (1 / white-balance multipliers, G = 1).
SONY_A7S2_AS_SHOT_NEUTRAL = (1 / 2.25, 1.0, 1 / 1.55)


def _rational(value: float, denominator_limit: int = 1_000_000) -> tuple[int, int]:
    frac = Fraction(value).limit_denominator(denominator_limit)
    return frac.numerator, frac.denominator


def _srational_list(values) -> list[int]:
    flat: list[int] = []
    for v in values:
        n, d = _rational(float(v), 10000)
        flat += [n, d]
    return flat


def write_dng(
    path: str | os.PathLike,
    mosaic: np.ndarray,
    cfa_pattern: str = "RGGB",
    black_level: float | tuple[float, ...] = 512,
    white_level: int = 16383,
    make: str = "Sony",
    model: str = "ILCE-7SM2",
    exposure_time: float | None = None,
    iso: int | None = None,
    as_shot_neutral: tuple[float, float, float] = SONY_A7S2_AS_SHOT_NEUTRAL,
    color_matrix: tuple[tuple[float, float, float], ...] = SONY_A7S2_COLOR_MATRIX,
    orientation: int = 1,
) -> Path | None:
    """Writes `mosaic` (uint16, H×W) as a CFA DNG that LibRaw decodes bit-exactly.

    `cfa_pattern` is the row-major colour layout of one CFA period: 4 letters for Bayer
    ("RGGB", "BGGR", "GRBG", "GBRG") or 36 for a 6×6 X-Trans period. `black_level` is one value
    or one per CFA position. `color_matrix` is XYZ→camera, as integers ×10000 or floats.
    `orientation` is the TIFF Orientation (1 = as stored). `path` may also be an open binary
    file (then None is returned).
    """
    import tifffile

    mosaic = np.asarray(mosaic)
    if mosaic.ndim != 2:
        raise ValueError(f"mosaic must be 2-D, got shape {mosaic.shape}")
    if min(mosaic.shape) < 22:
        raise ValueError(f"mosaic {mosaic.shape} is too small: LibRaw reads only images of at least 22 px a side")
    period = int(round(len(cfa_pattern) ** 0.5))
    if period * period != len(cfa_pattern) or set(cfa_pattern) - set("RGB"):
        raise ValueError(f"cfa_pattern must be a square layout of R/G/B letters, got {cfa_pattern!r}")
    mosaic = mosaic.astype(np.uint16)

    blacks = np.atleast_1d(np.asarray(black_level, dtype=np.float64))
    if blacks.size not in (1, period * period):
        raise ValueError(f"black_level needs 1 or {period * period} values, got {blacks.size}")
    matrix = np.asarray(color_matrix, dtype=np.float64)
    if np.abs(matrix).max() > 50:  # given ×10000 as in dcraw's table
        matrix = matrix / 10000.0

    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (271, "s", 0, make, True),  # Make
        (272, "s", 0, model, True),  # Model
        (50708, "s", 0, f"{make} {model}", True),  # UniqueCameraModel
        (33421, "H", 2, (period, period), True),  # CFARepeatPatternDim
        (33422, "B", period * period, tuple(_CFA_CODE[c] for c in cfa_pattern), True),
        (50710, "B", 3, (0, 1, 2), True),  # CFAPlaneColor
        (50711, "H", 1, 1, True),  # CFALayout: rectangular
        (50717, "I", 1, int(white_level), True),  # WhiteLevel
        (50721, "2i", 9, _srational_list(matrix.ravel()), True),  # ColorMatrix1
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1: D65
        (50728, "2I", 3, [x for v in as_shot_neutral for x in _rational(v, 10000)], True),
        (274, "H", 1, int(orientation), True),  # Orientation
    ]
    if blacks.size == 1:
        tags.append((50714, "2I", 1, _rational(blacks[0], 100), True))  # BlackLevel
    else:
        tags.append((50713, "H", 2, (period, period), True))  # BlackLevelRepeatDim
        tags.append((50714, "2I", blacks.size, [x for b in blacks for x in _rational(b, 100)], True))
    if exposure_time is not None:
        tags.append((33434, "2I", 1, _rational(exposure_time), True))  # ExposureTime
    if iso is not None:
        tags.append((34855, "H", 1, int(iso), True))  # ISOSpeedRatings (TIFF/EP)

    target = path if hasattr(path, "write") else Path(path)
    tifffile.imwrite(
        target,
        mosaic,
        photometric=32803,  # CFA
        compression=None,
        planarconfig="contig",
        extratags=tags,
        metadata=None,
    )
    return None if target is path and hasattr(path, "write") else target


def denoised_mosaic(packed_raw: np.ndarray, source) -> tuple[np.ndarray, str, np.ndarray]:
    """A RAW-head output (packed, [0, 1] of the source's range) → (uint16 mosaic in the source's
    digital numbers, its CFA pattern, its black level per site of one period).

    The mosaic is the packed area of the source (cropped to whole CFA periods at the packing phase,
    as every model output is); for X-Trans that phase is the reference layout, so the pattern and
    the per-site black levels are those of the cropped mosaic.
    """
    from keras_lowlight.runtime import packing

    layout = packing.layout_for(source.cfa_pattern)
    normalized = packing.unpack(np.clip(np.asarray(packed_raw, np.float32), 0.0, 1.0), source.cfa_pattern)
    period = layout.period
    dy, dx = layout.offset
    blacks = np.roll(np.asarray(source.black_levels, np.float64).reshape(period, period), (-dy, -dx), axis=(0, 1))
    pattern = "".join(np.roll(np.array(list(source.cfa_pattern)).reshape(period, period), (-dy, -dx),
                              axis=(0, 1)).ravel())
    h, w = normalized.shape
    black_map = np.tile(blacks, (h // period, w // period))
    dn = normalized * (float(source.white_level) - black_map) + black_map
    mosaic = np.clip(np.rint(dn), 0, source.white_level).astype(np.uint16)
    return mosaic, pattern, blacks.ravel()


def write_denoised_dng(target, packed_raw: np.ndarray, source) -> None:
    """Writes a RAW-head model's output as a DNG that keeps the source file's metadata: make and
    model, CFA, black and white levels, as-shot neutral (1 / white balance), colour matrix,
    orientation, exposure time and ISO — what Lightroom's AI Denoise / DxO PureRAW hand back.
    Any LibRaw-based developer then renders it with the camera's own colour."""
    mosaic, pattern, blacks = denoised_mosaic(packed_raw, source)
    wb = np.asarray(source.white_balance, np.float64)
    xyz_to_cam = np.asarray(source.xyz_to_cam, np.float64) if source.xyz_to_cam is not None else None
    write_dng(
        target, mosaic, cfa_pattern=pattern,
        black_level=tuple(blacks) if np.ptp(blacks) else float(blacks[0]),
        white_level=int(source.white_level), make=source.make or "Unknown", model=source.model or "Unknown",
        exposure_time=source.exposure_time, iso=source.iso,
        as_shot_neutral=tuple(float(v) for v in wb[1] / wb),
        color_matrix=xyz_to_cam if xyz_to_cam is not None else np.linalg.inv(RGB_TO_XYZ),
        orientation=int(getattr(source, "extras", {}).get("orientation", 1)),
    )
