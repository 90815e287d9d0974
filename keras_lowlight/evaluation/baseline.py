"""The amplification-only baseline every trained model must beat.

The short frame multiplied by the ratio (what SID calls the "scaled input"), demosaiced
bilinearly from its packed channels, then given the *best possible* colour rendering: a 3×3
linear colour transform fitted by least squares to that very image's ground truth, followed by
the BT.709 curve LibRaw's `postprocess` uses. The colour fit is an oracle, so the baseline's
remaining error is the noise (and demosaicing) alone — the part a denoiser must remove — and
any margin a model shows over it is conservative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# LibRaw/dcraw default output curve: BT.709, power 1/2.222 with a linear toe of slope 4.5.
_POWER, _SLOPE = 1 / 2.222, 4.5
_BREAK = 0.018


def bt709_encode(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear < _BREAK, linear * _SLOPE, 1.099 * np.power(linear, _POWER) - 0.099)


def bt709_decode(encoded: np.ndarray) -> np.ndarray:
    encoded = np.clip(encoded, 0.0, 1.0)
    return np.where(encoded < _BREAK * _SLOPE, encoded / _SLOPE, np.power((encoded + 0.099) / 1.099, 1 / _POWER))


def packed_to_rgb(packed: np.ndarray) -> np.ndarray:
    """Packed (h, w, 4|9) → linear camera RGB at packed resolution."""
    if packed.shape[-1] == 4:  # R, G1, B, G2
        return np.stack([packed[..., 0], (packed[..., 1] + packed[..., 3]) / 2, packed[..., 2]], -1)
    if packed.shape[-1] == 9:  # SID X-Trans: R = {0, 3}, B = {2, 4}, G = {1, 5, 6, 7, 8}
        r = packed[..., [0, 3]].mean(-1)
        g = packed[..., [1, 5, 6, 7, 8]].mean(-1)
        b = packed[..., [2, 4]].mean(-1)
        return np.stack([r, g, b], -1)
    raise ValueError(f"packed image must have 4 or 9 channels, got {packed.shape[-1]}")


def _upsample(rgb: np.ndarray, scale: int, out_hw: tuple[int, int]) -> np.ndarray:
    import tensorflow as tf

    up = tf.image.resize(rgb[None], out_hw, method="bilinear")[0].numpy()
    return up


def amplify_only(packed: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Baseline sRGB (H, W, 3) in [0, 1] for one amplified packed input and its ground truth."""
    return render_oracle(packed, target)


def render_oracle(packed: np.ndarray, target: np.ndarray) -> np.ndarray:
    """A packed linear RAW rendered like its ground truth: bilinear demosaic from the packed
    channels, the least-squares 3×3 colour fit to `target` (the oracle), BT.709 curve."""
    h, w = target.shape[:2]
    scale = h // packed.shape[0]
    linear = _upsample(packed_to_rgb(packed.astype(np.float32)), scale, (h, w))
    x = linear.reshape(-1, 3).astype(np.float64)
    y = bt709_decode(target.reshape(-1, 3).astype(np.float64))
    matrix, *_ = np.linalg.lstsq(x, y, rcond=None)
    return bt709_encode((x @ matrix).reshape(h, w, 3)).astype(np.float32)


# === BM3D on the packed RAW (the classical baseline) ===
#
# BM3D (Dabov et al., TIP 2007; PyPI `bm3d`, Mäkitalo–Foi's implementation) assumes additive white
# Gaussian noise of known σ. RAW noise is Poisson-Gaussian: var(z) = α·E[z] + σ². The generalised
# Anscombe transform (GAT) makes it ≈ unit-variance Gaussian; BM3D denoises there; the *exact
# unbiased* inverse of the GAT (Mäkitalo & Foi, "Optimal inversion of the generalized Anscombe
# transformation for Poisson-Gaussian noise", IEEE TIP 22(1), 2013) maps back without the bias
# the algebraic inverse leaves in the dark regions that dominate low-light frames.


@dataclass(frozen=True)
class PoissonGaussian:
    """var(z) = alpha·E[z] + sigma² in the units of the packed, amplified input (1 = white).

    `source` says where the numbers came from: "known" (given by the caller, e.g. a synthetic
    dataset's noise draw) or "estimated" (fitted on the frame itself by `estimate_noise`).
    """

    alpha: float
    sigma: float
    source: str = "known"


_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float64) / 6.0  # unit L2 norm


def estimate_noise(packed: np.ndarray, bins: int = 16, min_count: int = 64) -> PoissonGaussian:
    """Fits var = α·mean + σ² on one frame, with no side information, so any file works.

    Per packed channel, a unit-norm second-difference filter (Immerkær 1996) leaves the noise
    and little of the (locally smooth) signal; a 3×3 mean gives the local level. Pixels whose
    neighbourhood touches 0 or 1 are dropped (clipping shrinks variance there); the rest are
    binned by level, each bin's variance taken robustly (1.4826·MAD, so edges do not count),
    and a weighted least-squares line fitted through (level, variance). Per-row offsets cancel
    in the second difference, so banding is not counted as (white) noise. A frame so noisy
    that almost every neighbourhood is clipped falls back to one robust, signal-independent σ.
    """
    from scipy import ndimage

    packed = np.asarray(packed, np.float64)
    levels, residuals, clipped_masks = [], [], []
    for c in range(packed.shape[-1]):
        channel = packed[..., c]
        residuals.append(ndimage.convolve(channel, _IMMERKAER, mode="reflect")[1:-1, 1:-1])
        levels.append(ndimage.uniform_filter(channel, 3, mode="reflect")[1:-1, 1:-1])
        clipped = ndimage.maximum_filter((channel <= 0) | (channel >= 1), 3, mode="reflect")
        clipped_masks.append(clipped[1:-1, 1:-1])
    level, residual = np.concatenate([v.ravel() for v in levels]), np.concatenate([v.ravel() for v in residuals])
    keep = ~np.concatenate([v.ravel() for v in clipped_masks])
    if residual.size == 0:
        raise ValueError("the frame is too small to estimate its noise level")
    means, variances, counts = _binned_variances(level[keep], residual[keep], bins, min_count)
    if len(means) < 3:  # nearly everything clipped: one Gaussian σ from all pixels
        return PoissonGaussian(1e-6, float(_robust_std(residual)), "estimated")
    m, v, n = np.array(means), np.array(variances), np.array(counts, np.float64)
    weights = n / np.maximum(v, 1e-12) ** 2  # var of a variance estimate ∝ var² / n
    design = np.stack([m, np.ones_like(m)], -1) * np.sqrt(weights)[:, None]
    (alpha, sigma2), *_ = np.linalg.lstsq(design, v * np.sqrt(weights), rcond=None)
    if sigma2 < 0:  # pure Poisson fits better: refit through the origin
        alpha, sigma2 = float(np.sum(weights * m * v) / np.sum(weights * m * m)), 0.0
    if alpha <= 0:  # signal-independent: Gaussian only
        alpha, sigma2 = 1e-6, float(np.average(v, weights=n))
    return PoissonGaussian(float(alpha), float(np.sqrt(sigma2)), "estimated")


def _robust_std(values: np.ndarray) -> float:
    return 1.4826 * float(np.median(np.abs(values - np.median(values))))


def _binned_variances(level: np.ndarray, residual: np.ndarray, bins: int, min_count: int):
    """(mean level, robust variance, count) per quantile bin of the local level."""
    if level.size < min_count:
        return [], [], []
    edges = np.unique(np.quantile(level, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, level, side="right") - 1, 0, max(len(edges) - 2, 0))
    means, variances, counts = [], [], []
    for b in range(max(len(edges) - 1, 1)):
        in_bin = which == b
        if np.count_nonzero(in_bin) < min_count:
            continue
        means.append(float(level[in_bin].mean()))
        variances.append(_robust_std(residual[in_bin]) ** 2)
        counts.append(int(np.count_nonzero(in_bin)))
    return means, variances, counts


def gat_forward(z: np.ndarray, noise: PoissonGaussian) -> np.ndarray:
    """Generalised Anscombe transform: Poisson-Gaussian → ≈ N(·, 1)."""
    a, s = noise.alpha, noise.sigma
    return 2.0 / a * np.sqrt(np.maximum(a * z + 0.375 * a * a + s * s, 0.0))


def _gat_expectation_table(sigma_std: float, y_max: float) -> tuple[np.ndarray, np.ndarray]:
    """(y, E[f(z) | y]) for the standardised model z = Poisson(y) + N(0, σ²), f the GAT with α = 1.

    The expectation is summed over the Poisson counts and integrated over the Gaussian with
    Gauss–Hermite quadrature; it is increasing in y, so it inverts by interpolation.
    """
    from scipy import stats

    nodes, node_weights = np.polynomial.hermite_e.hermegauss(48)
    node_weights = node_weights / node_weights.sum()
    y = np.unique(np.concatenate([np.linspace(0, 4, 161), np.geomspace(4, max(y_max, 8.0), 400)]))
    k = np.arange(0, int(y[-1] + 12 * np.sqrt(y[-1]) + 30))
    # E[f(k + n)] over the Gaussian, for every count k.
    f_k = (2 * np.sqrt(np.maximum(k[:, None] + sigma_std * nodes[None] + 0.375 + sigma_std**2, 0)) @ node_weights)
    expectation = stats.poisson.pmf(k[None, :], y[:, None]) @ f_k
    return y, expectation


def _gat_inverse_closed_form(d: np.ndarray, sigma_std: float) -> np.ndarray:
    """Mäkitalo & Foi's closed-form approximation of the exact unbiased inverse (large D)."""
    d = np.maximum(d, 1e-6)
    r = np.sqrt(1.5)
    y = 0.25 * d**2 + 0.25 * r / d - 1.375 / d**2 + 0.625 * r / d**3 - 0.125 - sigma_std**2
    return np.maximum(y, 0.0)


def gat_inverse_exact(d: np.ndarray, noise: PoissonGaussian, y_max: float | None = None) -> np.ndarray:
    """Exact unbiased inverse: the y whose E[GAT(z) | y] equals the denoised value d.

    Computed in the standardised model (z/α: Poisson(y/α) + N(0, (σ/α)²)); tabulated up to
    `y_max` (default: the standardised value of white, 1/α), the closed form beyond.
    """
    a = noise.alpha
    sigma_std = noise.sigma / a
    y_limit = min(1.2 / a if y_max is None else y_max / a, 2000.0)
    y, expectation = _gat_expectation_table(sigma_std, y_limit)
    out = np.interp(d, expectation, y, left=0.0)
    beyond = d > expectation[-1]
    if np.any(beyond):
        out = np.where(beyond, _gat_inverse_closed_form(d, sigma_std), out)
    return out * a


def bm3d_packed(packed: np.ndarray, noise: PoissonGaussian | None = None, joint: bool = True) -> np.ndarray:
    """Denoises a packed, amplified RAW (h, w, C) in [0, 1] with BM3D under the GAT.

    `noise=None` estimates the Poisson-Gaussian parameters from the frame. `joint=True` runs
    one multichannel BM3D on an orthonormal transform of the channels whose first component is
    their mean (the best-SNR image, on which BM3D's block matching runs: the CBM3D idea applied
    to the CFA channels; the GAT made every channel unit-variance, so an orthonormal mix keeps
    the noise white and unit). `joint=False` denoises each CFA channel on its own.
    """
    import bm3d as bm3d_lib

    packed = np.asarray(packed, np.float64)
    noise = noise or estimate_noise(packed)
    transformed = gat_forward(packed, noise)
    low, high = float(transformed.min()), float(transformed.max())
    span = max(high - low, 1e-6)
    scaled = (transformed - low) / span  # BM3D's defaults are tuned for images in [0, 1]
    channels = packed.shape[-1]
    if joint:
        basis = _orthonormal_basis(channels)
        mixed = scaled @ basis.T
        denoised = bm3d_lib.bm3d(mixed, sigma_psd=[1.0 / span] * channels) @ basis
    else:
        denoised = np.stack([bm3d_lib.bm3d(scaled[..., c], sigma_psd=1.0 / span) for c in range(channels)], -1)
    denoised = np.reshape(denoised, packed.shape) * span + low
    return np.clip(gat_inverse_exact(denoised, noise), 0.0, 1.0).astype(np.float32)


BM3D_CACHE_ENV = "LOWLIGHT_BM3D_CACHE"


def bm3d_timed(packed: np.ndarray) -> tuple[np.ndarray, float]:
    """(`bm3d_packed(packed)`, seconds it took). BM3D is deterministic (to float rounding) and does not depend on any
    model, yet costs seconds per frame (most of `lowlight package`'s time): with the environment
    variable LOWLIGHT_BM3D_CACHE naming a folder, results are kept there, keyed by a hash of the
    input bytes, and reused with the time the first computation took. Opt-in: without it every
    call computes."""
    import hashlib
    import os
    import time
    from pathlib import Path

    folder = os.environ.get(BM3D_CACHE_ENV)
    packed = np.ascontiguousarray(packed, np.float32)
    path = None
    if folder:
        key = hashlib.sha256(str(packed.shape).encode() + packed.tobytes()).hexdigest()[:32]
        path = Path(folder) / f"{key}.npz"
        if path.exists():
            try:
                with np.load(path) as cached:
                    return cached["denoised"], float(cached["seconds"])
            except (OSError, ValueError, KeyError):
                pass  # a damaged entry is recomputed and replaced
    start = time.perf_counter()
    denoised = bm3d_packed(packed)
    seconds = time.perf_counter() - start
    if path is not None:
        from keras_lowlight.runtime.files import write_atomically

        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda f: np.savez(f, denoised=denoised, seconds=seconds))
    return denoised, seconds


def _orthonormal_basis(channels: int) -> np.ndarray:
    """Rows: an orthonormal basis of R^C whose first row is the normalised mean."""
    seed = np.eye(channels)
    seed[:, 0] = 1.0
    q, _ = np.linalg.qr(seed)
    basis = q.T
    return basis * np.sign(basis[0, 0])


def bm3d_baseline(packed: np.ndarray, target: np.ndarray, noise: PoissonGaussian | None = None,
                  joint: bool = True) -> np.ndarray:
    """BM3D-denoised sRGB (H, W, 3): `bm3d_packed`, then the same oracle rendering as
    `amplify_only`, so the two rows differ only by the denoising."""
    return render_oracle(bm3d_packed(packed, noise, joint=joint), target)
