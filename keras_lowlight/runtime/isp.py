"""The project's own RAW → sRGB pipeline: renders a RAW-head model's output (and any clean
packed RAW) with the file's colour metadata, and files LibRaw cannot postprocess.

It mirrors the steps of LibRaw's `postprocess(use_camera_wb=True, no_auto_bright=True)` — the
render of SID's ground truth — without LibRaw's AHD / X-Trans demosaic: demosaic (Malvar-He-
Cutler for Bayer, per-colour normalised convolution for any CFA period), camera white balance
scaled so its smallest multiplier is 1, highlight clipping, the camera→sRGB matrix derived from
the file's XYZ→camera matrix (rows of XYZ→camera·sRGB→XYZ normalised to one, as dcraw's
`cam_xyz_coeff`), and the BT.709 transfer curve (gamma 0.45, toe slope 4.5). numpy only (no
TensorFlow, no scipy), so the TF-free runtime install can use it. How close it comes to LibRaw:
benchmarks/results/isp_vs_libraw.md.
"""

from __future__ import annotations

import functools
import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from keras_lowlight.runtime.unprocess import RGB_TO_XYZ


def _convolve1d_mirror(values: np.ndarray, taps: list[float], axis: int) -> np.ndarray:
    """`scipy.ndimage.convolve1d(values, taps, axis, mode="mirror")` for a symmetric odd kernel, in
    numpy only (the TF-free runtime installs no scipy) and bit for bit the same: the sum is formed
    in float64 in scipy's order (centre, then the pairs from the farthest in) and cast to the
    input's dtype. "mirror" reflects about the edge sample, as numpy's pad mode "reflect"."""
    r = len(taps) // 2
    n = values.shape[axis]
    widths = [(0, 0)] * values.ndim
    widths[axis] = (r, r)
    padded = np.pad(values, widths, mode="reflect")

    def shifted(offset: int) -> np.ndarray:
        index = [slice(None)] * values.ndim
        index[axis] = slice(r + offset, r + offset + n)
        return padded[tuple(index)].astype(np.float64, copy=False)

    total = shifted(0) * taps[r]
    for j in range(r, 0, -1):
        total += (shifted(-j) + shifted(j)) * taps[r + j]
    return total.astype(values.dtype, copy=False)


def demosaic_bilinear(mosaic: np.ndarray, cfa_pattern: str, dtype=np.float64) -> np.ndarray:
    """H×W → H×W×3 by averaging each colour's known neighbours (3×3, widened to 5×5 where a
    3×3 window holds none of that colour). Known samples are kept as they are. `dtype`: the
    arithmetic's (float64 for the reference render, float32 for the fast banded one)."""
    mosaic = np.asarray(mosaic, dtype)
    h, w = mosaic.shape
    period = int(round(len(cfa_pattern) ** 0.5))
    letters = np.array(list(cfa_pattern)).reshape(period, period)
    sites = np.tile(letters, (-(-h // period), -(-w // period)))[:h, :w]
    k3, k5 = [1.0, 2.0, 1.0], [1.0, 2.0, 3.0, 2.0, 1.0]  # both kernels are separable: k ⊗ k

    def convolve(values: np.ndarray, taps: list[float]) -> np.ndarray:
        return _convolve1d_mirror(_convolve1d_mirror(values, taps, axis=0), taps, axis=1)

    out = np.empty((h, w, 3), dtype)
    for c, letter in enumerate("RGB"):
        mask = (sites == letter).astype(dtype)
        num3 = convolve(mosaic * mask, k3)
        den3 = convolve(mask, k3)
        num5 = convolve(mosaic * mask, k5)
        den5 = convolve(mask, k5)
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


# === The fast integer render (what `lowlight enhance` writes for a RAW-head model) ===
#
# `render_packed` above is the reference: float64, the exact curve, frame-sized arrays (~75 s and
# several GB for a 24 MP frame). The render below computes the same steps in float32 on bands of
# rows (optionally threaded), demosaics a Bayer frame straight from the four packed
# planes (no unpacked mosaic), folds white balance into the demosaic's 1/8 and the output scale
# into the colour matrix, and replaces the BT.709 curve and the writers' quantisation by one lookup
# table indexed by the linear value: at most 1 code from `quantize(render_packed(...), bits)`
# (tests/test_isp.py), for 16 and 8 bits alike.

# Table entries per unit of linear light: ~2^18 (steps of 3.8e-6; × the curve's steepest slope, 4.5, under
# half a 16-bit code), nudged so that the BT.709 curve's break at 0.018 (a jump of 26 16-bit codes
# between its two pieces) falls exactly between two entries: a value rounds to the right piece.
_BT709_BREAK = 0.018
_CURVE_STEPS = (round(_BT709_BREAK * (1 << 18) - 0.5) + 0.5) / _BT709_BREAK
_CURVE_LUT_SIZE = int(_CURVE_STEPS) + 2  # the last entry: linear 1 (and everything above, by clipping)
_BAND_ROWS = 16  # packed rows per band (a 3000-wide Bayer band: 48 k samples a plane, cache-sized)


@functools.lru_cache(maxsize=4)
def _curve_table(bits: int) -> np.ndarray:
    """Quantised BT.709 output for each linear sample i / _CURVE_STEPS, with the writers' exact
    float32 rule (clip · (2^bits − 1) + 0.5, truncated) applied to the float32 curve value."""
    linear = np.arange(_CURVE_LUT_SIZE, dtype=np.float64) / _CURVE_STEPS  # bt709_curve clips the last to 1
    curve = bt709_curve(linear).astype(np.float32)
    top = np.float32(65535.0 if bits == 16 else 255.0)
    return (curve * top + np.float32(0.5)).astype(np.uint16 if bits == 16 else np.uint8)


def _finish(rgb: tuple[np.ndarray, np.ndarray, np.ndarray], matrix: np.ndarray, table: np.ndarray,
            outs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """White-balanced camera RGB (float32, modified in place) → clip → camera→sRGB → curve → integers
    written into `outs` (views of the output image). `matrix` is pre-scaled to table indices."""
    for channel in rgb:
        np.clip(channel, 0.0, 1.0, out=channel)
    acc = np.empty_like(rgb[0])
    tmp = np.empty_like(rgb[0])
    index = np.empty(rgb[0].shape, np.intp)
    codes = np.empty(rgb[0].shape, table.dtype)  # contiguous: a lookup into the strided output is ~1.5× slower
    for i in range(3):
        np.multiply(rgb[0], matrix[i, 0], out=acc)
        np.multiply(rgb[1], matrix[i, 1], out=tmp)
        acc += tmp
        np.multiply(rgb[2], matrix[i, 2], out=tmp)
        acc += tmp
        acc += np.float32(0.5)
        np.copyto(index, acc, casting="unsafe")  # truncation = rounding to the nearest table entry
        np.take(table, index, out=codes, mode="clip")  # "clip" = the curve's clip to [0, 1]
        np.copyto(outs[i], codes)


def _bayer_band(packed: np.ndarray, sites: list[int], grid: list[str], i0: int, i1: int,
                wb: np.ndarray, matrix: np.ndarray, table: np.ndarray, out: np.ndarray) -> None:
    """Packed rows i0..i1 of a Bayer frame → output rows 2·i0..2·i1, Malvar-He-Cutler on the planes.

    Each plane gets a one-sample border that reproduces scipy's "mirror" edge of the mosaic (a
    mosaic reflection about its edge sample lands on the same phase one or zero planes over).
    """
    h2, w2 = packed.shape[:2]
    n = i1 - i0
    planes: dict[tuple[int, int], np.ndarray] = {}
    for channel, site in enumerate(sites):
        a, b = divmod(site, 2)
        plane = np.empty((n + 2, w2 + 2), np.float32)
        plane[1:-1, 1:-1] = packed[i0:i1, :, channel]
        plane[0, 1:-1] = packed[i0 - 1 if i0 > 0 else 1 - a, :, channel]
        plane[-1, 1:-1] = packed[i1 if i1 < h2 else h2 - 1 - a, :, channel]
        plane[:, 0] = plane[:, 1 + (1 - b)]
        plane[:, -1] = plane[:, 1 + (w2 - 1 - b)]
        np.clip(plane, 0.0, 1.0, out=plane)
        planes[(a, b)] = plane

    def tap(py: int, px: int, dy: int, dx: int) -> np.ndarray:
        """The mosaic sample at (dy, dx) from every (py, px) site of the band, as a view."""
        qy, qx = py + dy, px + dx
        oy, ox = 1 + qy // 2, 1 + qx // 2
        return planes[(qy % 2, qx % 2)][oy : oy + n, ox : ox + w2]

    red_row = next(y for y in range(2) if "R" in grid[y])
    eighth = (wb / 8.0).astype(np.float32)
    for py in range(2):
        for px in range(2):
            letter = grid[py][px]
            centre = tap(py, px, 0, 0)
            rgb: list[np.ndarray | None] = [None, None, None]

            def pair(d1: tuple[int, int], d2: tuple[int, int]) -> np.ndarray:
                return np.add(tap(py, px, *d1), tap(py, px, *d2))

            if letter == "G":
                diagonal = pair((-1, -1), (-1, 1))
                diagonal += pair((1, -1), (1, 1))
                across, down = pair((0, -1), (0, 1)), pair((-1, 0), (1, 0))
                across2, down2 = pair((0, -2), (0, 2)), pair((-2, 0), (2, 0))
                base = np.multiply(centre, np.float32(5.0))
                base -= diagonal
                along_row = diagonal  # reuse the buffer: base + 4·across − across2 + down2/2
                np.multiply(across, np.float32(4.0), out=along_row)
                along_row += base
                along_row -= across2
                along_row += np.multiply(down2, np.float32(0.5), out=across)
                along_col = np.multiply(down, np.float32(4.0), out=down)
                along_col += base
                along_col -= down2
                along_col += np.multiply(across2, np.float32(0.5), out=across2)
                row_colour, col_colour = (0, 2) if py == red_row else (2, 0)
                rgb[row_colour], rgb[col_colour] = along_row, along_col
                rgb[1] = np.multiply(centre, np.float32(8.0))
            else:
                own, other = (0, 2) if letter == "R" else (2, 0)
                far = pair((-2, 0), (2, 0))
                far += pair((0, -2), (0, 2))
                near = pair((-1, 0), (1, 0))
                near += pair((0, -1), (0, 1))
                diagonal = pair((-1, -1), (-1, 1))
                diagonal += pair((1, -1), (1, 1))
                green = np.multiply(centre, np.float32(4.0))  # 4c + 2·near − far
                green += near
                green += near
                green -= far
                opposite = np.multiply(centre, np.float32(6.0))  # 6c + 2·diagonal − 1.5·far
                opposite += diagonal
                opposite += diagonal
                opposite -= np.multiply(far, np.float32(1.5), out=far)
                rgb[own], rgb[1], rgb[other] = np.multiply(centre, np.float32(8.0)), green, opposite
            for c in range(3):
                rgb[c] *= eighth[c]
            rows = out[2 * i0 + py : 2 * i1 : 2, px::2]
            _finish((rgb[0], rgb[1], rgb[2]), matrix, table, (rows[..., 0], rows[..., 1], rows[..., 2]))


def _generic_band(mosaic: np.ndarray, pattern: str, y0: int, y1: int, wb: np.ndarray, matrix: np.ndarray,
                  table: np.ndarray, out: np.ndarray) -> None:
    """Mosaic rows y0..y1 (any CFA period) → output rows y0..y1: the bilinear demosaic on the band
    and one CFA period of rows either side (mirror edges are right only at the frame's edges)."""
    period = int(round(len(pattern) ** 0.5))
    top, bottom = max(0, y0 - period), min(mosaic.shape[0], y1 + period)
    rgb = demosaic_bilinear(mosaic[top:bottom], pattern, np.float32)[y0 - top : y1 - top]
    channels = tuple(np.ascontiguousarray(rgb[..., c]) * np.float32(wb[c]) for c in range(3))
    rows = out[y0:y1]
    _finish(channels, matrix, table, (rows[..., 0], rows[..., 1], rows[..., 2]))


def render_packed_quantized(packed: np.ndarray, cfa_pattern: str, white_balance, xyz2cam, bits: int = 8,
                            workers: int = 1) -> np.ndarray:
    """`render_packed` straight to uint8 (bits=8) or uint16 (bits=16) sRGB, as the writers
    quantise — fast (float32, banded, threaded, a lookup-table curve) and within 1 code of
    `writers.quantize(render_packed(...), bits)`. Memory: the output and a few bands.

    `workers` > 1 renders bands in that many threads: no faster on the shared 2-core machine of
    benchmarks/results/isp_speed.md (~0.4 s of CPU for 24 MP; the per-band numpy calls hold the GIL
    much of the time), so one thread by default, leaving the other core to a batch's second lane."""
    from keras_lowlight.runtime import packing

    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    packed = np.asarray(packed, np.float32)
    layout = packing.layout_for(cfa_pattern)
    if packed.ndim != 3 or packed.shape[-1] != layout.channels:
        raise ValueError(f"packed image must be (H, W, {layout.channels}) for {layout.kind}, got {packed.shape}")
    wb = np.asarray(white_balance, np.float64)
    wb = wb / wb.min()
    xyz2cam = np.asarray(xyz2cam if xyz2cam is not None else np.linalg.inv(RGB_TO_XYZ), np.float64)
    matrix = (cam2rgb_from_xyz2cam(xyz2cam) * _CURVE_STEPS).astype(np.float32)
    table = _curve_table(bits)
    h2, w2 = packed.shape[0] // layout.cells, packed.shape[1] // layout.cells
    out = np.empty((h2 * layout.period, w2 * layout.period, 3), table.dtype)
    if out.size == 0:
        return out
    if layout.kind == "bayer" and (h2 < 2 or w2 < 2):  # too small for the planes' one-sample mirror border
        from keras_lowlight.runtime.writers import quantize

        return quantize(render_packed(packed, cfa_pattern, white_balance, xyz2cam), bits)
    if layout.kind == "bayer":
        grid = [cfa_pattern[0:2], cfa_pattern[2:4]]
        starts = range(0, h2, _BAND_ROWS)

        def run(i0: int) -> None:
            _bayer_band(packed, list(layout.index), grid, i0, min(i0 + _BAND_ROWS, h2), wb, matrix, table, out)
    else:
        mosaic = packing.unpack(np.clip(packed, 0.0, 1.0), cfa_pattern)
        pattern = unpacked_pattern(cfa_pattern)
        period = layout.period
        step = max(period, (6 * _BAND_ROWS) // period * period)  # a period of halo each side: wide bands
        starts = range(0, mosaic.shape[0], step)

        def run(y0: int) -> None:
            _generic_band(mosaic, pattern, y0, min(y0 + step, mosaic.shape[0]), wb, matrix, table, out)

    if workers == 1 or len(starts) == 1:
        for start in starts:
            run(start)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, starts))
    return out
