"""Statistical tests of the ELD noise model (numpy and TensorFlow twins) and of unprocessing.

Moments are checked against the closed form
    E[x] = y,   Var[x] = K·y + σ_TL²·Var_TL(λ) + σ_R² + 1/12      (DN, DN²)
with tolerances of 5 standard errors. Row noise makes all pixels of a row share one offset, so
the standard errors below count ROWS, not pixels, as independent samples (conservative).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from keras_lowlight.data import noise
from keras_lowlight.runtime import unprocess

ROWS, COLS = 100_000, 8  # 800k draws, 100k independent rows
SIGNAL_DN = 40.0  # a dark short exposure: 40 DN above black


@pytest.fixture(scope="module")
def model() -> noise.NoiseModel:
    return noise.NoiseModel.load()


@pytest.fixture(scope="module")
def params(model) -> noise.NoiseParams:
    return model.params_for_gain(4.0)  # ISO ≈ 4200 on the a7S II


def _tolerances(expected_var: float, excess_kurtosis: float = 1.5):
    """5 standard errors of the sample mean and variance, with n = number of rows."""
    n = ROWS
    se_mean = math.sqrt(expected_var / n)
    se_var = expected_var * math.sqrt((2.0 + excess_kurtosis) / n)
    return 5 * se_mean, 5 * se_var


def test_parameters_come_from_the_data_file(model):
    assert [p["name"] for p in model.profiles] == ["SonyA7S2_lowISO", "SonyA7S2_highISO"]
    assert model.black_level == 512 and model.white_level == 16383
    rng = np.random.default_rng(1)
    draws = [model.sample_params(rng) for _ in range(4000)]
    log_k = np.log([d.gain for d in draws])
    assert model.log_k_range[0] <= log_k.min() and log_k.max() <= model.log_k_range[1]
    isos = np.array([d.iso for d in draws])
    assert 150 < isos.min() < 400 and 10000 < isos.max() < 14000  # SID's range, ISO ~200 to ~13000
    for profile in model.profiles:
        inside = (log_k >= profile["log_K_min"]) & (log_k <= profile["log_K_max"])
        # log σ_TL regresses on log K with this fit's slope / intercept / scatter.
        residual = np.log([d.sigma_tl for d, ok in zip(draws, inside) if ok]) - (
            profile["sigma_TL_k"] * log_k[inside] + profile["sigma_TL_b"]
        )
        assert abs(residual.mean()) < 5 * profile["sigma_TL_sig"] / math.sqrt(inside.sum())
        assert residual.std() == pytest.approx(profile["sigma_TL_sig"], rel=0.1)


def test_tensorflow_parameter_draws_follow_the_same_fits(model):
    draws = [noise.sample_params_tf(model, seed=[i, 0]) for i in range(300)]
    for d in draws:
        log_k = float(np.log(d["gain"].numpy()))
        expected = model.params_for_gain(float(d["gain"].numpy()))
        # Within 5 sigma of the matching fit's regression line.
        profile = model._profile_for(log_k)
        assert abs(np.log(d["sigma_tl"].numpy()) - np.log(expected.sigma_tl)) < 5 * profile["sigma_TL_sig"] + 1e-5
        assert float(d["lam"].numpy()) == pytest.approx(profile["lambda"])


def test_tukey_lambda_variance_and_quantile_match_scipy():
    for lam in (-0.025, -0.26, 0.1, 0.0):
        assert noise.tukey_lambda_variance(lam) == pytest.approx(stats.tukeylambda.var(lam), rel=1e-6)
    u = np.linspace(0.01, 0.99, 17)
    np.testing.assert_allclose(noise.tukey_lambda_quantile(u, -0.025), stats.tukeylambda.ppf(u, -0.025), rtol=1e-9)


def test_numpy_noise_moments_match_the_formula(params):
    rng = np.random.default_rng(7)
    clean = np.full((ROWS, COLS), SIGNAL_DN * 100 / (params.white_level - params.black_level))
    x = noise.add_noise(clean, ratio=100, params=params, rng=rng)
    expected_var = noise.expected_variance(SIGNAL_DN, params)
    tol_mean, tol_var = _tolerances(expected_var)
    assert abs(x.mean() - SIGNAL_DN) < tol_mean
    assert abs(x.var() - expected_var) < tol_var, (x.var(), expected_var, tol_var)
    # The row component is really per row: row means vary by σ_R beyond the pixel noise.
    row_means = x.mean(axis=1)
    pixel_part = (expected_var - params.sigma_row**2) / COLS
    assert row_means.var() == pytest.approx(pixel_part + params.sigma_row**2, rel=0.05)


def test_without_signal_only_read_row_and_quantisation_remain(params):
    rng = np.random.default_rng(3)
    x = noise.add_noise(np.zeros((ROWS, COLS)), ratio=300, params=params, rng=rng)
    expected_var = noise.expected_variance(0.0, params)
    _, tol_var = _tolerances(expected_var, excess_kurtosis=3.0)
    assert abs(x.var() - expected_var) < tol_var


def test_tensorflow_twin_has_the_same_moments(params):
    import tensorflow as tf

    clean = tf.fill([ROWS, COLS], SIGNAL_DN * 100 / (params.white_level - params.black_level))
    x = noise.add_noise_tf(clean, 100.0, params, seed=[1, 2]).numpy().astype(np.float64)
    expected_var = noise.expected_variance(SIGNAL_DN, params)
    tol_mean, tol_var = _tolerances(expected_var)
    assert abs(x.mean() - SIGNAL_DN) < tol_mean
    assert abs(x.var() - expected_var) < tol_var
    y = noise.add_noise(clean.numpy(), 100, params, np.random.default_rng(11))
    # numpy and TF agree with each other (two independent samples: √2 × the one-sample bound).
    assert abs(x.var() - y.var()) < math.sqrt(2) * tol_var
    assert abs(stats.kurtosis(x.ravel()) - stats.kurtosis(y.ravel())) < 0.1


def test_seeded_draws_are_reproducible(model):
    clean = np.random.default_rng(0).uniform(0, 1, (32, 32))
    a = noise.short_exposure_raw(clean, 250, model.sample_params(np.random.default_rng(5)), np.random.default_rng(6))
    b = noise.short_exposure_raw(clean, 250, model.sample_params(np.random.default_rng(5)), np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.uint16 and a.min() >= 0 and a.max() <= 16383
    # A dark frame sits just above the black level: mean ≈ 512 + signal / ratio.
    assert abs(a.mean() - (512 + clean.mean() * 15871 / 250)) < 3
    import tensorflow as tf

    p = noise.sample_params_tf(model, seed=[3, 4])
    t1 = noise.add_noise_tf(tf.constant(clean, tf.float32), 250.0, p, seed=[8, 9])
    t2 = noise.add_noise_tf(tf.constant(clean, tf.float32), 250.0, p, seed=[8, 9])
    np.testing.assert_array_equal(t1.numpy(), t2.numpy())


def test_unprocess_then_process_round_trips():
    rng = np.random.default_rng(0)
    # A smooth image away from the highlight region that the safe gains deliberately bend.
    yy, xx = np.mgrid[0:64, 0:64] / 63.0
    srgb = np.stack([0.1 + 0.6 * yy, 0.2 + 0.5 * xx, 0.15 + 0.3 * (1 - yy) * xx], axis=-1)
    for _ in range(5):
        mosaic, camera_rgb, meta = unprocess.unprocess(srgb, rng)
        assert np.allclose(unprocess.process(camera_rgb, meta), srgb, atol=2e-3)
        assert 1.9 <= meta.red_gain <= 2.4 and 1.5 <= meta.blue_gain <= 1.9
        np.testing.assert_allclose(meta.rgb2cam.sum(axis=1), 1.0, atol=1e-9)
        # RGGB: R at (0, 0), G at (0, 1) and (1, 0), B at (1, 1).
        assert mosaic[0, 0] == camera_rgb[0, 0, 0] and mosaic[1, 1] == camera_rgb[1, 1, 2]
        assert mosaic[0, 1] == camera_rgb[0, 1, 1] and mosaic[1, 0] == camera_rgb[1, 0, 1]
    # Unprocessing really undoes the camera: linear data are much darker than sRGB midtones.
    assert camera_rgb.mean() < 0.6 * srgb.mean()
