"""Unprocessing: turn an sRGB photograph back into a plausible linear camera RAW (numpy).

Follows Brooks, Mildenhall, Xue, Chen, Sharlet, Barron, *Unprocessing Images for Learned Raw
Denoising*, CVPR 2019 (reference code: google-research/google-research `unprocessing/
unprocess.py`), step by step, each the inverse of one stage of a camera's processing:

1. inverse tone curve (their smoothstep),
2. inverse gamma (sRGB ≈ x^(1/2.2)),
3. inverse colour correction: linear sRGB → camera RGB with a random convex mix of four
   XYZ→camera matrices (rows normalised to sum to one),
4. inverse white balance with random red / blue gains, highlights preserved,
5. mosaic to a Bayer CFA.

Written from the paper and that description, in numpy; `process` is the matching forward
pipeline (white balance, colour matrix, gamma, smoothstep) used to check the round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# XYZ → camera matrices of four cameras, as listed by Brooks et al. (their `random_ccm`).
XYZ_TO_CAMERAS = np.array(
    [
        [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
        [[0.4913, -0.0541, -0.0202], [-0.6130, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
        [[0.8380, -0.2630, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
        [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.0970, 0.1581, 0.5181]],
    ]
)

# Linear sRGB (D65) → CIE XYZ.
RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)


@dataclass(frozen=True)
class UnprocessMetadata:
    """What a camera would record about the frame: needed to process it forward again.

    Attributes:
        xyz2cam: the XYZ→camera matrix (DNG ColorMatrix1) of the mixed camera.
        rgb2cam: linear sRGB → camera RGB, rows summing to 1.
        cam2rgb: its inverse (camera RGB → linear sRGB).
        red_gain, blue_gain: white-balance multipliers the camera applies (green = 1).
        brightness: global factor dividing the image (Brooks' `rgb_gain`); 1 keeps exposure.
    """

    xyz2cam: np.ndarray
    rgb2cam: np.ndarray
    cam2rgb: np.ndarray
    red_gain: float
    blue_gain: float
    brightness: float = 1.0

    @property
    def white_balance(self) -> tuple[float, float, float]:
        return (self.red_gain, 1.0, self.blue_gain)

    @property
    def as_shot_neutral(self) -> tuple[float, float, float]:
        """DNG AsShotNeutral: the camera-RGB value of a neutral grey, i.e. 1 / gains."""
        return (1.0 / self.red_gain, 1.0, 1.0 / self.blue_gain)


def random_xyz2cam(rng: np.random.Generator) -> np.ndarray:
    """A random convex combination of the four XYZ→camera matrices."""
    weights = rng.uniform(1e-8, 1.0, size=len(XYZ_TO_CAMERAS))
    weights /= weights.sum()
    return np.tensordot(weights, XYZ_TO_CAMERAS, axes=1)


def rgb2cam_from_xyz2cam(xyz2cam: np.ndarray) -> np.ndarray:
    """Linear sRGB → camera with rows normalised to 1 (white maps to white before WB)."""
    rgb2cam = np.asarray(xyz2cam) @ RGB_TO_XYZ
    return rgb2cam / rgb2cam.sum(axis=-1, keepdims=True)


def random_gains(rng: np.random.Generator, vary_brightness: bool = False) -> tuple[float, float, float]:
    """Red / blue white-balance gains as in Brooks et al. (red U(1.9, 2.4), blue U(1.5, 1.9)).

    Brooks also darkens by 1/N(0.8, 0.1); a dataset whose ground truth should look like a
    normal photograph keeps the exposure (`vary_brightness=False`).
    """
    brightness = 1.0 / rng.normal(0.8, 0.1) if vary_brightness else 1.0
    return float(rng.uniform(1.9, 2.4)), float(rng.uniform(1.5, 1.9)), float(brightness)


def random_metadata(rng: np.random.Generator, vary_brightness: bool = False) -> UnprocessMetadata:
    xyz2cam = random_xyz2cam(rng)
    rgb2cam = rgb2cam_from_xyz2cam(xyz2cam)
    red, blue, brightness = random_gains(rng, vary_brightness)
    return UnprocessMetadata(xyz2cam, rgb2cam, np.linalg.inv(rgb2cam), red, blue, brightness)


def inverse_smoothstep(image: np.ndarray) -> np.ndarray:
    """Inverse of the tone curve 3x² − 2x³."""
    image = np.clip(image, 0.0, 1.0)
    return 0.5 - np.sin(np.arcsin(1.0 - 2.0 * image) / 3.0)


def smoothstep(image: np.ndarray) -> np.ndarray:
    image = np.clip(image, 0.0, 1.0)
    return 3.0 * image**2 - 2.0 * image**3


def gamma_expansion(image: np.ndarray) -> np.ndarray:
    return np.maximum(image, 1e-8) ** 2.2


def gamma_compression(image: np.ndarray) -> np.ndarray:
    return np.maximum(image, 1e-8) ** (1.0 / 2.2)


def apply_ccm(image: np.ndarray, ccm: np.ndarray) -> np.ndarray:
    return np.einsum("ij,...j->...i", ccm, image)


def safe_invert_gains(image: np.ndarray, meta: UnprocessMetadata) -> np.ndarray:
    """Divides by the white-balance gains, but lets near-white pixels keep their value, so
    highlights do not turn into coloured casts after the camera clips them."""
    gains = np.array([1.0 / meta.red_gain, 1.0, 1.0 / meta.blue_gain]) / meta.brightness
    gray = image.mean(axis=-1, keepdims=True)
    inflection = 0.9
    mask = (np.maximum(gray - inflection, 0.0) / (1.0 - inflection)) ** 2.0
    safe_gains = np.maximum(mask + (1.0 - mask) * gains, gains)
    return image * safe_gains


def mosaic(image: np.ndarray, cfa_pattern: str = "RGGB") -> np.ndarray:
    """H×W×3 → H×W mosaic sampling one colour per site of the CFA period (2×2 Bayer or 6×6
    X-Trans, `cfa_pattern` row-major)."""
    h, w, _ = image.shape
    period = int(round(len(cfa_pattern) ** 0.5))
    out = np.empty((h, w), image.dtype)
    channel = {"R": 0, "G": 1, "B": 2}
    for i, letter in enumerate(cfa_pattern):
        dy, dx = divmod(i, period)
        out[dy::period, dx::period] = image[dy::period, dx::period, channel[letter]]
    return out


def unprocess(
    srgb: np.ndarray, rng: np.random.Generator, cfa_pattern: str = "RGGB", vary_brightness: bool = False
) -> tuple[np.ndarray, np.ndarray, UnprocessMetadata]:
    """sRGB float [0, 1] H×W×3 → (linear camera mosaic H×W in [0, 1], camera RGB H×W×3, meta)."""
    meta = random_metadata(rng, vary_brightness)
    image = inverse_smoothstep(np.asarray(srgb, np.float64))
    image = gamma_expansion(image)
    image = apply_ccm(image, meta.rgb2cam)
    image = np.clip(safe_invert_gains(image, meta), 0.0, 1.0)
    return mosaic(image, cfa_pattern), image, meta


def process(camera_rgb: np.ndarray, meta: UnprocessMetadata) -> np.ndarray:
    """The forward pipeline on a demosaicked camera image: WB, colour matrix, gamma, tone curve."""
    gains = np.array(meta.white_balance) * meta.brightness
    image = np.clip(camera_rgb * gains, 0.0, 1.0)
    image = np.clip(apply_ccm(image, meta.cam2rgb), 0.0, 1.0)
    return smoothstep(gamma_compression(image))
