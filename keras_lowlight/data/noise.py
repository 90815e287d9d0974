"""Physics-based low-light sensor noise (ELD, Wei et al. CVPR 2020), in numpy and TensorFlow.

A dark RAW frame is modelled, in DN above the black level, as

    noisy = K · Poisson(y / K) + TukeyLambda(λ, σ_TL) + N_row(0, σ_R) + U(-½, ½)

with `y` the clean signal in DN (the long exposure divided by the amplification ratio), `K`
the system gain (DN per electron, set by the ISO), a heavy-tailed Tukey-lambda read noise, one
Gaussian offset per sensor row (banding) and quantisation. The camera's fits (log σ_TL and
log σ_R linear in log K, with Gaussian scatter) live in one data file,
`keras_lowlight/resources/noise_sony_a7s2.json`, taken from ELD / PMN (Feng et al., ACM MM 2022,
`data_process/process.py`). This module is a from-scratch implementation of that model.

When to use which:

* `add_noise` (numpy, seeded) builds the short frames of the prepared `sid/synthetic` dataset:
  fixed, reproducible evaluation data.
* `add_noise_tf` draws fresh noise on any clean RAW inside a `tf.data` pipeline, so every
  epoch sees new noise: more diversity for training (ELD's recipe), same model as above.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Mapping

import numpy as np

DEFAULT_RESOURCE = "noise_sony_a7s2.json"
# Noise profile per SID camera. The X-T2's is an approximation (see its file's description).
CAMERA_RESOURCES = {"sony": "noise_sony_a7s2.json", "fuji": "noise_fuji_xt2.json"}


def resource_for_camera(camera: str = "", cfa_kind: str = "bayer") -> str:
    """The noise profile of a dataset's camera: Fujifilm (or any X-Trans) → X-T2, else a7S II."""
    if "fuji" in camera.lower() or cfa_kind == "xtrans":
        return CAMERA_RESOURCES["fuji"]
    return CAMERA_RESOURCES["sony"]


@dataclass(frozen=True)
class NoiseParams:
    """One draw of the camera's noise parameters (all in DN of the RAW file)."""

    gain: float  # K, DN per photo-electron
    sigma_tl: float  # scale of the Tukey-lambda read noise
    sigma_row: float  # std of the per-row offset
    lam: float  # Tukey-lambda shape
    iso: int  # the ISO that gain corresponds to on this camera
    black_level: float
    white_level: float

    def as_dict(self) -> dict[str, float]:
        return {
            "gain": self.gain,
            "sigma_tl": self.sigma_tl,
            "sigma_row": self.sigma_row,
            "lam": self.lam,
            "iso": float(self.iso),
            "black_level": self.black_level,
            "white_level": self.white_level,
        }


def tukey_lambda_variance(lam: float) -> float:
    """Variance of the standard Tukey-lambda distribution (scale 1); finite for λ > -1/2."""
    if lam <= -0.5:
        return math.inf
    if abs(lam) < 1e-6:
        return math.pi**2 / 3.0  # the logistic limit
    return (2.0 / lam**2) * (1.0 / (1.0 + 2.0 * lam) - math.gamma(lam + 1.0) ** 2 / math.gamma(2.0 * lam + 2.0))


def tukey_lambda_quantile(u, lam: float):
    """Inverse CDF Q(u) = (u^λ − (1−u)^λ) / λ (λ → 0: the logistic log(u / (1−u)))."""
    u = np.asarray(u, np.float64)
    if abs(lam) < 1e-6:
        return np.log(u) - np.log1p(-u)
    return (u**lam - (1.0 - u) ** lam) / lam


def expected_variance(signal_dn: float, params: NoiseParams, quantization: bool = True) -> float:
    """Var[noisy] in DN² at a clean signal level: K·y + σ_TL²·Var_TL(λ) + σ_R² (+ 1/12)."""
    var = params.gain * signal_dn + params.sigma_tl**2 * tukey_lambda_variance(params.lam) + params.sigma_row**2
    return var + (1.0 / 12.0 if quantization else 0.0)


class NoiseModel:
    """A camera's calibrated noise model, loaded from its JSON data file.

    Example:
    >>> model = NoiseModel.load()
    >>> rng = np.random.default_rng(0)
    >>> params = model.sample_params(rng)
    >>> noisy_dn = add_noise(clean_normalized, ratio=100, params=params, rng=rng)
    """

    def __init__(self, config: Mapping, profile: str | tuple[str, ...] | None = None):
        self.config = dict(config)
        names = (profile,) if isinstance(profile, str) else tuple(profile or config["default_profiles"])
        for name in names:
            if name not in config["profiles"]:
                raise ValueError(f"unknown noise profile {name!r}; have {sorted(config['profiles'])}")
        # Sorted by gain range, so `_profile_for` can pick the nearer one.
        self.profiles = sorted((dict(config["profiles"][n], name=n) for n in names), key=lambda p: p["log_K_min"])
        self.log_k_range = (self.profiles[0]["log_K_min"], self.profiles[-1]["log_K_max"])
        self.black_level = float(config["black_level"])
        self.white_level = float(config["white_level"])
        self.camera = str(config.get("camera", ""))

    @classmethod
    def load(cls, resource: str = DEFAULT_RESOURCE, profile: str | tuple[str, ...] | None = None) -> "NoiseModel":
        text = resources.files("keras_lowlight.resources").joinpath(resource).read_text()
        return cls(json.loads(text), profile)

    def _profile_for(self, log_k: float) -> dict:
        """The fit whose log K range contains log_k, or the nearer one (fits leave gaps)."""
        def distance(p):
            return max(p["log_K_min"] - log_k, 0.0, log_k - p["log_K_max"])

        return min(self.profiles, key=distance)

    def iso_for_gain(self, gain: float) -> int:
        fit = self.config["iso_from_gain"]
        return int(round((gain - fit["b"]) / fit["k"]))

    def params_for_gain(self, gain: float) -> NoiseParams:
        """The regression means at a given K (no scatter): for tests and fixed settings."""
        log_k = math.log(gain)
        p = self._profile_for(log_k)
        return NoiseParams(
            gain=float(gain),
            sigma_tl=math.exp(p["sigma_TL_k"] * log_k + p["sigma_TL_b"]),
            sigma_row=math.exp(p["sigma_R_k"] * log_k + p["sigma_R_b"]),
            lam=float(p["lambda"]),
            iso=self.iso_for_gain(gain),
            black_level=self.black_level,
            white_level=self.white_level,
        )

    def sample_params(self, rng: np.random.Generator) -> NoiseParams:
        """log K ~ U(min, max); log σ ~ N(k·log K + b, sig) for the read and row noise."""
        log_k = rng.uniform(*self.log_k_range)
        p = self._profile_for(log_k)
        log_tl = rng.normal(p["sigma_TL_k"] * log_k + p["sigma_TL_b"], p["sigma_TL_sig"])
        log_row = rng.normal(p["sigma_R_k"] * log_k + p["sigma_R_b"], p["sigma_R_sig"])
        gain = math.exp(log_k)
        return NoiseParams(
            gain=gain,
            sigma_tl=math.exp(log_tl),
            sigma_row=math.exp(log_row),
            lam=float(p["lambda"]),
            iso=self.iso_for_gain(gain),
            black_level=self.black_level,
            white_level=self.white_level,
        )


def sample_params(rng: np.random.Generator, model: NoiseModel | None = None) -> NoiseParams:
    """Draws noise parameters from the (default Sony a7S II, low + high ISO) model."""
    return (model or NoiseModel.load()).sample_params(rng)


def add_noise_dn(signal_dn: np.ndarray, params: NoiseParams, rng: np.random.Generator, quantization: bool = True):
    """Noisy observation (float64, DN above black) of a clean signal already in DN.

    Rows are the second-to-last axis (a mosaic H×W, or a batch ...×H×W).
    """
    y = np.maximum(np.asarray(signal_dn, np.float64), 0.0)
    shot = rng.poisson(y / params.gain) * params.gain
    read = params.sigma_tl * tukey_lambda_quantile(rng.uniform(1e-12, 1.0 - 1e-12, size=y.shape), params.lam)
    row_shape = y.shape[:-1] + (1,)
    row = rng.normal(0.0, params.sigma_row, size=row_shape)
    noisy = shot + read + row
    if quantization:
        noisy = noisy + rng.uniform(-0.5, 0.5, size=y.shape)
    return noisy


def add_noise(
    clean: np.ndarray, ratio: float, params: NoiseParams, rng: np.random.Generator, quantization: bool = True
) -> np.ndarray:
    """Short-exposure noise on a clean long exposure.

    Args:
        clean: long exposure, black-subtracted and normalised to [0, 1] (mosaic H×W).
        ratio: long / short exposure; the short frame collects `clean / ratio` of the light.
        params: one draw of `NoiseModel.sample_params`.
    Returns: float64 DN above black (not clipped); divide by (white − black) and multiply by
    `ratio` for a network's amplified input.
    """
    signal_dn = np.asarray(clean, np.float64) * (params.white_level - params.black_level) / float(ratio)
    return add_noise_dn(signal_dn, params, rng, quantization)


def short_exposure_raw(clean: np.ndarray, ratio: float, params: NoiseParams, rng: np.random.Generator) -> np.ndarray:
    """A dark RAW frame as a camera writes it: noisy DN + black, rounded, clipped, uint16.

    Rounding to integer DN is the quantisation, so no uniform term is added on top.
    """
    noisy = add_noise(clean, ratio, params, rng, quantization=False) + params.black_level
    return np.clip(np.rint(noisy), 0, params.white_level).astype(np.uint16)


# ----------------------------------------------------------------------------- TensorFlow twin


def sample_params_tf(model: NoiseModel | None = None, seed=None) -> dict:
    """TensorFlow twin of `NoiseModel.sample_params`: a dict of scalar float32 tensors."""
    import tensorflow as tf

    model = model or NoiseModel.load()
    seeds = tf.random.experimental.stateless_split(_seed_tf(seed), 3)
    log_k = tf.random.stateless_uniform([], seeds[0], *model.log_k_range, dtype=tf.float32)

    def coefficient(key):
        # Piecewise over the profiles, matching `NoiseModel._profile_for` (nearer fit in gaps).
        value = tf.constant(model.profiles[0][key], tf.float32)
        for lower, upper in zip(model.profiles[:-1], model.profiles[1:]):
            boundary = 0.5 * (lower["log_K_max"] + upper["log_K_min"])
            value = tf.where(log_k >= boundary, tf.constant(upper[key], tf.float32), value)
        return value

    log_tl = coefficient("sigma_TL_k") * log_k + coefficient("sigma_TL_b")
    log_tl += coefficient("sigma_TL_sig") * tf.random.stateless_normal([], seeds[1])
    log_row = coefficient("sigma_R_k") * log_k + coefficient("sigma_R_b")
    log_row += coefficient("sigma_R_sig") * tf.random.stateless_normal([], seeds[2])
    return {
        "gain": tf.exp(log_k),
        "sigma_tl": tf.exp(log_tl),
        "sigma_row": tf.exp(log_row),
        "lam": coefficient("lambda"),
        "black_level": tf.constant(model.black_level, tf.float32),
        "white_level": tf.constant(model.white_level, tf.float32),
    }


def _seed_tf(seed):
    import tensorflow as tf

    if seed is None:
        return tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int64)
    return tf.cast(tf.convert_to_tensor(seed), tf.int64)


def add_noise_tf(clean, ratio, params, seed=None, quantization: bool = True):
    """TensorFlow twin of `add_noise`: same model, for fresh noise every epoch in `tf.data`.

    Args:
        clean: float tensor (..., H, W), normalised [0, 1] clean mosaic.
        ratio: scalar amplification ratio.
        params: `NoiseParams`, its `as_dict()`, or the dict of `sample_params_tf`.
        seed: shape-[2] integer tensor for stateless, reproducible draws; None → random.
    Returns: float32 DN above black, like `add_noise`.
    """
    import tensorflow as tf

    if isinstance(params, NoiseParams):
        params = params.as_dict()
    gain = tf.cast(params["gain"], tf.float32)
    sigma_tl = tf.cast(params["sigma_tl"], tf.float32)
    sigma_row = tf.cast(params["sigma_row"], tf.float32)
    lam = tf.cast(params["lam"], tf.float32)
    scale = tf.cast(params["white_level"], tf.float32) - tf.cast(params["black_level"], tf.float32)

    clean = tf.cast(clean, tf.float32)
    y = tf.maximum(clean * scale / tf.cast(ratio, tf.float32), 0.0)
    seeds = tf.random.experimental.stateless_split(_seed_tf(seed), 4)
    shape = tf.shape(y)
    shot = tf.cast(tf.random.stateless_poisson(shape, seeds[0], y / gain, dtype=tf.float32), tf.float32) * gain
    u = tf.random.stateless_uniform(shape, seeds[1], 1e-7, 1.0 - 1e-7, dtype=tf.float32)
    # Tukey-lambda inverse CDF; float32 is ample here (|λ| is a few hundredths).
    read = sigma_tl * (tf.pow(u, lam) - tf.pow(1.0 - u, lam)) / lam
    row_shape = tf.concat([shape[:-1], [1]], axis=0)
    row = sigma_row * tf.random.stateless_normal(row_shape, seeds[2])
    noisy = shot + read + row
    if quantization:
        noisy += tf.random.stateless_uniform(shape, seeds[3], -0.5, 0.5)
    return noisy
