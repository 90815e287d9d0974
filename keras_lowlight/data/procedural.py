"""Procedural training scenes in the spirit of VibrantLeaves: no photograph, no download, no end.

Dead leaves (Achddou et al., SSVM 2021) stack random occluding shapes whose sizes follow a
power law (p(r) ∝ r⁻³, scale invariant like natural images); VibrantLeaves (Achddou et al.,
2025, arXiv 2504.10201) makes them train denoisers nearly as well as photographs by adding what
plain discs lack. This generator is written from that description:

* shapes: rotated ellipses, rotated rectangles and wobbly blobs (radius modulated by a few
  harmonics), with ~1 px anti-aliased edges, painted back to front (later shapes occlude);
* texture: each shape mixes two colours through a texture — none, a smooth linear shading
  gradient, sinusoidal stripes, or 1/f (fractal) noise cut from a per-scene bank;
* colour and brightness: colours drawn from the training photographs' own pixels or from a broad
  HSV distribution, painted in linear light, under a smooth illumination field and a random
  exposure, so brightness spans deep shadows to highlights as in real scenes;
* depth of field: the background layers are blurred (Gaussian, random σ) before the sharp
  foreground is painted over them.

Everything is seeded (`numpy.random.Generator`) and vectorised per shape (each shape touches
only its bounding box), so a 256×256 scene takes tens of milliseconds.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

SHAPE_KINDS = ("ellipse", "rectangle", "blob")
TEXTURE_KINDS = ("flat", "gradient", "stripes", "fractal")


def _fractal_bank(rng: np.random.Generator, size: int, count: int = 3) -> np.ndarray:
    """`count` 1/f^β noise fields (β ∈ [1.5, 2.5]) in [0, 1], size×size, via the FFT."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    radius = np.maximum(np.hypot(fy, fx), 1.0 / size)
    bank = np.empty((count, size, size), np.float32)
    for i in range(count):
        beta = rng.uniform(1.5, 2.5)
        spectrum = (rng.normal(size=radius.shape) + 1j * rng.normal(size=radius.shape)) / radius ** (beta / 2)
        field = np.fft.irfft2(spectrum, s=(size, size))
        field = (field - field.min()) / max(np.ptp(field), 1e-12)
        bank[i] = field
    return bank


def _palette(rng: np.random.Generator, count: int, photo_pixels: np.ndarray | None) -> np.ndarray:
    """`count` sRGB colours: half from the photographs' pixels (natural statistics), half from
    a broad HSV law (saturated colours too), shuffled."""
    from_photos = count // 2 if photo_pixels is not None and len(photo_pixels) else 0
    colours = []
    if from_photos:
        colours.append(photo_pixels[rng.integers(0, len(photo_pixels), from_photos)])
    n = count - from_photos
    hue = rng.uniform(0, 1, n)
    saturation = rng.beta(1.2, 1.5, n)
    value = rng.uniform(0.05, 1.0, n) ** 0.7
    colours.append(_hsv_to_rgb(hue, saturation, value))
    palette = np.concatenate(colours).astype(np.float32)
    return palette[rng.permutation(len(palette))]


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = np.stack([np.stack(c, -1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))])
    return table[i, np.arange(len(h))]


def _radii(rng: np.random.Generator, count: int, r_min: float, r_max: float) -> np.ndarray:
    """Power law p(r) ∝ r⁻³ on [r_min, r_max] by inverse CDF (dead leaves' scale invariance)."""
    u = rng.uniform(size=count)
    return (r_min**-2 - u * (r_min**-2 - r_max**-2)) ** -0.5


def _paint_shape(canvas: np.ndarray, shape: dict, palette: np.ndarray, bank: np.ndarray) -> None:
    """Paints one shape (parameters drawn beforehand, see `_shape_parameters`) over its bounding box."""
    h, w, _ = canvas.shape
    cy, cx, r, kind = shape["cy"], shape["cx"], shape["r"], shape["kind"]
    a, b = r, r * shape["aspect"]  # half-axes
    reach = (np.hypot(a, b) if kind == "rectangle" else r * (1.4 if kind == "blob" else 1.0)) + 2
    y0, y1 = max(int(cy - reach), 0), min(int(cy + reach) + 1, h)
    x0, x1 = max(int(cx - reach), 0), min(int(cx + reach) + 1, w)
    if y0 >= y1 or x0 >= x1:
        return
    dy = np.arange(y0, y1, dtype=np.float32)[:, None] - cy
    dx = np.arange(x0, x1, dtype=np.float32)[None, :] - cx
    cos, sin = np.cos(shape["theta"]), np.sin(shape["theta"])
    u = dx * cos + dy * sin
    v = dy * cos - dx * sin
    if kind == "ellipse":
        f = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        alpha = np.clip((1.0 - f) * b + 0.5, 0.0, 1.0)  # ≈ 1 px soft edge
    elif kind == "rectangle":
        alpha = np.clip(np.minimum(a - np.abs(u), b - np.abs(v)) + 0.5, 0.0, 1.0)
    else:
        phi = np.arctan2(v, u)
        edge = 1.0 + sum(amp * np.cos(k * phi + phase) for k, amp, phase in shape["harmonics"])
        alpha = np.clip(r * edge - np.hypot(u, v) + 0.5, 0.0, 1.0)

    texture = shape["texture"]
    if texture == "flat":
        t = np.zeros_like(alpha)
    elif texture == "gradient":
        t = np.clip(0.5 + 0.5 * u / max(a, 1.0), 0.0, 1.0)
    elif texture == "stripes":
        t = 0.5 + 0.5 * np.sin(2 * np.pi * v / shape["period"] + shape["phase"])
    else:
        field = bank[shape["bank"]]
        oy = int(shape["offset"][0] * (field.shape[0] - (y1 - y0)))
        ox = int(shape["offset"][1] * (field.shape[1] - (x1 - x0)))
        t = field[oy : oy + y1 - y0, ox : ox + x1 - x0]
    first, second = palette[shape["colours"][0]], palette[shape["colours"][1]] * shape["contrast"]
    colour = first + t[..., None] * (second - first)
    region = canvas[y0:y1, x0:x1]
    region += alpha[..., None] * (colour - region)


def _shape_parameters(rng: np.random.Generator, count: int, h: int, w: int, palette_size: int, banks: int):
    """Every shape's random parameters, drawn in bulk (vectorised) in painting order."""
    r_max = max(h, w) * rng.uniform(0.25, 0.6)
    radii = _radii(rng, count, R_MIN, r_max)
    columns = {
        "cy": rng.uniform(-0.1 * h, 1.1 * h, count),
        "cx": rng.uniform(-0.1 * w, 1.1 * w, count),
        "r": radii,
        "kind": rng.integers(len(SHAPE_KINDS), size=count),
        "aspect": rng.uniform(0.35, 1.0, count),
        "theta": rng.uniform(0, np.pi, count),
        "texture": rng.integers(len(TEXTURE_KINDS), size=count),
        "colours": rng.integers(palette_size, size=(count, 2)),
        # Half the shapes mix two palette colours, half one colour and a darker/brighter twin.
        "contrast": np.where(rng.uniform(size=count) < 0.5, 1.0, rng.uniform(0.3, 1.7, count)),
        "period": 2.0 + rng.uniform(0.0, 1.0, count) * (np.maximum(3.0, radii) - 2.0),
        "phase": rng.uniform(0, 2 * np.pi, count),
        "bank": rng.integers(banks, size=count),
        "offset": rng.uniform(size=(count, 2)),
        "amps": rng.uniform(0.0, 1.0, (count, 3)) * np.array([0.25, 0.17, 0.1]),
        "phases": rng.uniform(0, 2 * np.pi, (count, 3)),
    }
    same = np.where(columns["contrast"] != 1.0)[0]
    columns["colours"][same, 1] = columns["colours"][same, 0]
    for i in range(count):
        yield {
            "cy": columns["cy"][i], "cx": columns["cx"][i], "r": columns["r"][i],
            "kind": SHAPE_KINDS[columns["kind"][i]], "aspect": columns["aspect"][i], "theta": columns["theta"][i],
            "texture": TEXTURE_KINDS[columns["texture"][i]], "colours": columns["colours"][i],
            "contrast": columns["contrast"][i], "period": columns["period"][i], "phase": columns["phase"][i],
            "bank": columns["bank"][i], "offset": columns["offset"][i],
            "harmonics": list(zip((2, 3, 5), columns["amps"][i], columns["phases"][i])),
        }


R_MIN = 4.0  # px; finer detail comes from the textures inside the shapes
COVERAGE = 4.0  # expected layers over every pixel: the first (background) ones end up fully hidden


def shape_count(h: int, w: int, r_max: float) -> int:
    """Shapes for COVERAGE expected layers: area / E[π r²] under the r⁻³ law on [R_MIN, r_max]."""
    mean_area = 2 * np.pi * R_MIN**2 * np.log(r_max / R_MIN) / (1 - (R_MIN / r_max) ** 2)
    return int(np.ceil(COVERAGE * h * w / mean_area))


def dead_leaves(
    rng: np.random.Generator,
    size: tuple[int, int] = (256, 256),
    photo_pixels: np.ndarray | None = None,
) -> np.ndarray:
    """One procedural scene: float32 sRGB H×W×3 in [0, 1] (what `unprocess` takes).

    Args:
        rng: the scene's generator (same seed → same scene).
        size: (height, width) in pixels.
        photo_pixels: N×3 sRGB pixels to draw half of the colours from (e.g. training photos).
    """
    h, w = size
    bank = _fractal_bank(rng, int(2 ** np.ceil(np.log2(max(h, w)))))
    palette = _palette(rng, 64, photo_pixels) ** 2.2  # paint in linear light
    count = shape_count(h, w, 0.4 * max(h, w))
    # Back to front: the first shapes are the background the later ones occlude.
    canvas = np.empty((h, w, 3), np.float32)
    canvas[:] = palette[rng.integers(len(palette))]
    focus = int(count * rng.uniform(0.6, 0.95))  # shapes before this are out of focus
    background_blur = rng.uniform(0.0, 4.0)
    for i, shape in enumerate(_shape_parameters(rng, count, h, w, len(palette), len(bank))):
        if i == focus and background_blur > 0.3:
            canvas = ndimage.gaussian_filter(canvas, (background_blur, background_blur, 0))
        _paint_shape(canvas, shape, palette, bank)
    # A smooth illumination field (light falling off across the scene) and an exposure.
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    slope = rng.normal(0, 0.8, 2)
    light = np.exp(slope[0] * (yy - 0.5) + slope[1] * (xx - 0.5) + rng.normal(0.0, 0.35))
    linear = np.clip(canvas * light[..., None].astype(np.float32), 0.0, 1.0)
    return (linear ** (1 / 2.2)).astype(np.float32)


__all__ = ["dead_leaves"]
