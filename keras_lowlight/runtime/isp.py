"""The project's own RAW → sRGB pipeline: renders a RAW-head model's output (and any clean
packed RAW) with the file's colour metadata, and files LibRaw cannot postprocess.

It mirrors the steps of LibRaw's `postprocess(use_camera_wb=True, no_auto_bright=True)` — the
render of SID's ground truth — without LibRaw's AHD / X-Trans demosaic: demosaic (Malvar-He-
Cutler for Bayer, per-colour normalised convolution for any CFA period), camera white balance
scaled so its smallest multiplier is 1, highlight clipping, the camera→sRGB matrix derived from
the file's XYZ→camera matrix (rows of XYZ→camera·sRGB→XYZ normalised to one, as dcraw's
`cam_xyz_coeff`), and the BT.709 transfer curve (gamma 0.45, toe slope 4.5). numpy + scipy only
(no TensorFlow), so the TFLite path can use it. How close it comes to LibRaw:
benchmarks/results/isp_vs_libraw.md.
"""

from __future__ import annotations

import io

import numpy as np

from keras_lowlight.runtime.unprocess import RGB_TO_XYZ


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


# Malvar-He-Cutler kernels (×8), as {(dy, dx): weight} taps around the site being filled.
_G_AT_RB = {(0, 0): 4, (-1, 0): 2, (1, 0): 2, (0, -1): 2, (0, 1): 2, (-2, 0): -1, (2, 0): -1, (0, -2): -1, (0, 2): -1}
# a colour at a green site whose ROW holds that colour (its left/right neighbours)
_AT_G_ROW = {(0, 0): 5, (0, -1): 4, (0, 1): 4, (0, -2): -1, (0, 2): -1, (-1, -1): -1, (-1, 1): -1, (1, -1): -1,
             (1, 1): -1, (-2, 0): 0.5, (2, 0): 0.5}
_AT_G_COL = {(dx, dy): w for (dy, dx), w in _AT_G_ROW.items()}  # … whose COLUMN holds it
_AT_OPPOSITE = {(0, 0): 6, (-1, -1): 2, (-1, 1): 2, (1, -1): 2, (1, 1): 2, (-2, 0): -1.5, (2, 0): -1.5,
                (0, -2): -1.5, (0, 2): -1.5}  # red at a blue site and blue at a red one


def demosaic_malvar(mosaic: np.ndarray, cfa_pattern: str) -> np.ndarray:
    """Bayer H×W → H×W×3 float64 with Malvar, He & Cutler's gradient-corrected bilinear filters
    (*High-quality linear interpolation for demosaicing of Bayer-patterned color images*,
    ICASSP 2004): fixed 5×5 kernels, sharper than bilinear at edges and still linear.

    Each kernel runs only on the CFA sites that need it, as strided sums of shifted views of the
    mirror-padded mosaic (no full-frame convolutions): ~20 frame-sized multiply-adds in all.
    """
    mosaic = np.asarray(mosaic, np.float64)
    h, w = mosaic.shape
    padded = np.pad(mosaic, 2, mode="reflect")  # = scipy.ndimage's "mirror"
    out = np.empty((h, w, 3))
    grid = [cfa_pattern[0:2], cfa_pattern[2:4]]
    red_row = next(y for y in range(2) if "R" in grid[y])

    def filtered(py: int, px: int, taps: dict) -> np.ndarray:
        rows, cols = len(range(py, h, 2)), len(range(px, w, 2))
        acc = None
        for (dy, dx), weight in taps.items():
            y0, x0 = py + 2 + dy, px + 2 + dx
            view = padded[y0 : y0 + 2 * rows : 2, x0 : x0 + 2 * cols : 2]
            term = view * (weight / 8.0)
            acc = term if acc is None else np.add(acc, term, out=acc)
        return acc

    for py in range(2):
        for px in range(2):
            letter = grid[py][px]
            site = mosaic[py::2, px::2]
            if letter == "G":
                out[py::2, px::2, 1] = site
                on_red_row = py == red_row
                out[py::2, px::2, 0] = filtered(py, px, _AT_G_ROW if on_red_row else _AT_G_COL)
                out[py::2, px::2, 2] = filtered(py, px, _AT_G_COL if on_red_row else _AT_G_ROW)
            else:
                own, other = (0, 2) if letter == "R" else (2, 0)
                out[py::2, px::2, own] = site
                out[py::2, px::2, 1] = filtered(py, px, _G_AT_RB)
                out[py::2, px::2, other] = filtered(py, px, _AT_OPPOSITE)
    return out


def demosaic(mosaic: np.ndarray, cfa_pattern: str) -> np.ndarray:
    """Malvar for Bayer, normalised-convolution bilinear for X-Trans (any period)."""
    if len(cfa_pattern) == 4:
        return demosaic_malvar(mosaic, cfa_pattern)
    return demosaic_bilinear(mosaic, cfa_pattern)


def cam2rgb_from_xyz2cam(xyz2cam: np.ndarray) -> np.ndarray:
    rgb2cam = np.asarray(xyz2cam, np.float64) @ RGB_TO_XYZ
    rgb2cam = rgb2cam / rgb2cam.sum(axis=1, keepdims=True)
    return np.linalg.inv(rgb2cam)


def bt709_curve(linear: np.ndarray) -> np.ndarray:
    """The BT.709 transfer curve (LibRaw's default output gamma)."""
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear < 0.018, 4.5 * linear, 1.099 * np.power(linear, 0.45) - 0.099)


def render_mosaic(normalized: np.ndarray, cfa_pattern: str, white_balance, xyz2cam: np.ndarray) -> np.ndarray:
    """Black-subtracted [0, 1] mosaic → float32 sRGB H×W×3 in [0, 1].

    Computed in float64 with the exact curve, then rounded once to float32: the Android sample's
    `Render.kt` does the same arithmetic and its golden test expects the same float32 values.
    """
    rgb = demosaic(np.clip(np.asarray(normalized, np.float64), 0.0, 1.0), cfa_pattern)
    wb = np.asarray(white_balance, np.float64)
    wb = wb / wb.min()  # LibRaw scales the smallest multiplier to 1 (no auto-brightening)
    rgb *= wb
    np.clip(rgb, 0.0, 1.0, out=rgb)
    matrix = cam2rgb_from_xyz2cam(xyz2cam)
    srgb = np.empty_like(rgb)
    for i in range(3):  # 9 multiply-adds; a (N, 3) @ (3, 3) matmul is far slower through BLAS threads
        np.multiply(rgb[..., 0], matrix[i, 0], out=srgb[..., i])
        srgb[..., i] += rgb[..., 1] * matrix[i, 1]
        srgb[..., i] += rgb[..., 2] * matrix[i, 2]
    return bt709_curve(srgb).astype(np.float32)


def render_normalized(
    normalized: np.ndarray, cfa_pattern: str, white_balance, xyz2cam: np.ndarray
) -> np.ndarray:
    """Black-subtracted [0, 1] mosaic → 16-bit sRGB H×W×3."""
    return np.round(render_mosaic(normalized, cfa_pattern, white_balance, xyz2cam) * 65535.0).astype(np.uint16)


def unpacked_pattern(cfa_pattern: str) -> str:
    """The CFA layout of `packing.unpack`'s mosaic: the file's for Bayer; for X-Trans the
    reference phase, since packing first crops the file's mosaic to it."""
    from keras_lowlight.runtime import packing

    return cfa_pattern if len(cfa_pattern) == 4 else packing.XTRANS_REFERENCE


def render_packed(packed: np.ndarray, cfa_pattern: str, white_balance, xyz2cam) -> np.ndarray:
    """A packed RAW in [0, 1] (a RAW-head model's output, or a clean long exposure packed the
    same way) → float32 sRGB (s·H, s·W, 3) in [0, 1], with the file's white balance (R, G, B
    multipliers) and XYZ→camera matrix. Values are clipped to [0, 1] first, as a sensor would.

    The output has the size and alignment of the sRGB head's output and of `data.EvalPair.target`
    (the mosaic cropped to whole CFA periods at the packing phase).
    """
    from keras_lowlight.runtime import packing

    mosaic = packing.unpack(np.clip(np.asarray(packed, np.float32), 0.0, 1.0), cfa_pattern)
    xyz2cam = np.asarray(xyz2cam if xyz2cam is not None else np.linalg.inv(RGB_TO_XYZ), np.float64)
    return render_mosaic(mosaic, unpacked_pattern(cfa_pattern), white_balance, xyz2cam)


def render_srgb_fallback(path, data: bytes | None = None) -> np.ndarray:
    """Renders a RAW file LibRaw can decode but not postprocess, with the steps above."""
    import rawpy

    from keras_lowlight.runtime.raw import read_raw

    image = read_raw(path, data=data)
    if data is None:
        with open(path, "rb") as f:
            data = f.read()
    with rawpy.imread(io.BytesIO(data)) as raw:
        xyz2cam = np.asarray(raw.rgb_xyz_matrix[:3, :3], np.float64)
    if not np.any(xyz2cam):
        xyz2cam = np.linalg.inv(RGB_TO_XYZ)  # no colour matrix: treat the camera as sRGB
    return render_normalized(image.normalized(), image.cfa_pattern, image.white_balance, xyz2cam)
