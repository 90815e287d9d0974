"""A small in-house RAW → sRGB pipeline, used where LibRaw cannot render a file.

LibRaw renders SID's ground truth (`raw.render_srgb`), but refuses to postprocess tiny X-Trans
DNGs such as our test fixtures. This pipeline mirrors LibRaw's steps without its AHD / X-Trans
demosaic: per-colour normalised-convolution (bilinear) demosaic valid for any CFA period,
camera white balance, camera→sRGB matrix derived from the DNG ColorMatrix (rows of
XYZ→camera·sRGB→XYZ normalised to one, as dcraw's `cam_xyz_coeff` does), highlight clipping
and the BT.709 transfer curve LibRaw applies by default (gamma 0.45, toe slope 4.5).
"""

from __future__ import annotations

import io

import numpy as np

from keras_lowlight.unprocess import RGB_TO_XYZ


def demosaic_bilinear(mosaic: np.ndarray, cfa_pattern: str) -> np.ndarray:
    """H×W → H×W×3 by averaging each colour's known neighbours (3×3, widened to 5×5 where a
    3×3 window holds none of that colour). Known samples are kept as they are."""
    from scipy import ndimage

    mosaic = np.asarray(mosaic, np.float64)
    h, w = mosaic.shape
    period = int(round(len(cfa_pattern) ** 0.5))
    letters = np.array(list(cfa_pattern)).reshape(period, period)
    sites = np.tile(letters, (-(-h // period), -(-w // period)))[:h, :w]
    k3 = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0])
    k5 = np.outer([1.0, 2.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 2.0, 1.0])
    out = np.empty((h, w, 3))
    for c, letter in enumerate("RGB"):
        mask = (sites == letter).astype(np.float64)
        num3 = ndimage.convolve(mosaic * mask, k3, mode="mirror")
        den3 = ndimage.convolve(mask, k3, mode="mirror")
        num5 = ndimage.convolve(mosaic * mask, k5, mode="mirror")
        den5 = ndimage.convolve(mask, k5, mode="mirror")
        estimate = np.where(den3 > 0, num3 / np.maximum(den3, 1e-12), num5 / np.maximum(den5, 1e-12))
        out[..., c] = np.where(mask > 0, mosaic, estimate)
    return out


def cam2rgb_from_xyz2cam(xyz2cam: np.ndarray) -> np.ndarray:
    rgb2cam = np.asarray(xyz2cam, np.float64) @ RGB_TO_XYZ
    rgb2cam = rgb2cam / rgb2cam.sum(axis=1, keepdims=True)
    return np.linalg.inv(rgb2cam)


def bt709_curve(linear: np.ndarray) -> np.ndarray:
    """The BT.709 transfer curve (LibRaw's default output gamma)."""
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear < 0.018, 4.5 * linear, 1.099 * np.power(linear, 0.45) - 0.099)


def render_normalized(
    normalized: np.ndarray, cfa_pattern: str, white_balance, xyz2cam: np.ndarray
) -> np.ndarray:
    """Black-subtracted [0, 1] mosaic → 16-bit sRGB H×W×3."""
    rgb = demosaic_bilinear(normalized, cfa_pattern)
    wb = np.asarray(white_balance, np.float64)
    wb = wb / wb.min()  # LibRaw scales the smallest multiplier to 1 (no auto-brightening)
    rgb = np.clip(rgb * wb, 0.0, 1.0)
    rgb = np.einsum("ij,...j->...i", cam2rgb_from_xyz2cam(xyz2cam), rgb)
    return np.round(bt709_curve(rgb) * 65535.0).astype(np.uint16)


def render_srgb_fallback(path, data: bytes | None = None) -> np.ndarray:
    """Renders a RAW file LibRaw can decode but not postprocess, with the steps above."""
    import rawpy

    from keras_lowlight.raw import read_raw

    image = read_raw(path, data=data)
    if data is None:
        with open(path, "rb") as f:
            data = f.read()
    with rawpy.imread(io.BytesIO(data)) as raw:
        xyz2cam = np.asarray(raw.rgb_xyz_matrix[:3, :3], np.float64)
    if not np.any(xyz2cam):
        xyz2cam = np.linalg.inv(RGB_TO_XYZ)  # no colour matrix: treat the camera as sRGB
    return render_normalized(image.normalized(), image.cfa_pattern, image.white_balance, xyz2cam)
