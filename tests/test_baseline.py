"""The classical baseline: GAT + exact unbiased inverse, noise estimation, BM3D beats amplify-only."""

from __future__ import annotations

import csv
import time

import numpy as np
import pytest

from keras_lowlight.evaluation import baseline
from keras_lowlight import data
from keras_lowlight.runtime.errors import LowlightError
from keras_lowlight.evaluation.evaluate import evaluate
from keras_lowlight.models.metrics import psnr_np
from scenes import make_scenes

BLACK, WHITE_MINUS_BLACK = 512, 16383 - 512  # the test scenes' levels


def known_noise(ratio: float) -> baseline.PoissonGaussian:
    """The test scenes' true parameters in amplified, normalised units: their mosaic is
    Poisson(black + signal DN) + N(0, 2 DN), so the black level's shot noise is read noise."""
    return baseline.PoissonGaussian(ratio / WHITE_MINUS_BLACK, np.sqrt(BLACK + 4.0) * ratio / WHITE_MINUS_BLACK)


def test_exact_inverse_is_unbiased_where_the_algebraic_one_is_not():
    rng = np.random.default_rng(0)
    noise = baseline.PoissonGaussian(alpha=0.02, sigma=0.03)
    for level in (0.0, 0.01, 0.05, 0.3):
        z = noise.alpha * rng.poisson(level / noise.alpha, 400_000) + rng.normal(0, noise.sigma, 400_000)
        mean_transformed = baseline.gat_forward(z, noise).mean()
        exact = baseline.gat_inverse_exact(np.array([mean_transformed]), noise)[0]
        assert exact == pytest.approx(level, abs=0.002)
    # The algebraic inverse of the same mean misses the dark level by far more.
    z = noise.alpha * rng.poisson(0.01 / noise.alpha, 400_000) + rng.normal(0, noise.sigma, 400_000)
    d = baseline.gat_forward(z, noise).mean()
    algebraic = ((d * noise.alpha / 2) ** 2 - noise.sigma**2) / noise.alpha - 0.375 * noise.alpha
    assert abs(algebraic - 0.01) > 0.005


def test_gat_makes_the_noise_unit_variance():
    rng = np.random.default_rng(1)
    noise = baseline.PoissonGaussian(alpha=0.01, sigma=0.02)
    clean = np.full(200_000, 0.2)
    z = noise.alpha * rng.poisson(clean / noise.alpha) + rng.normal(0, noise.sigma, clean.shape)
    assert np.std(baseline.gat_forward(z, noise)) == pytest.approx(1.0, abs=0.03)


@pytest.fixture(scope="module")
def pairs():
    return list(data.eval_pairs(scenes=make_scenes(count=1, shape=(128, 128), ratios=(30.0, 100.0, 300.0))))


def test_noise_estimate_recovers_the_frames_parameters(pairs):
    # (At ×300 these scenes' σ is 0.43 of white: nearly every neighbourhood clips, and the
    # estimate falls back to a clipped, lower σ; BM3D still gains > 4 dB there, below.)
    for pair in pairs[:2]:
        truth = known_noise(pair.ratio)
        estimate = baseline.estimate_noise(pair.packed)
        assert estimate.source == "estimated"
        # The variance at mid-grey is what BM3D's threshold depends on.
        mid = lambda n: n.alpha * 0.3 + n.sigma**2  # noqa: E731
        assert mid(estimate) == pytest.approx(mid(truth), rel=0.3)


def test_bm3d_beats_amplification_only_by_a_margin_in_seconds(pairs):
    for pair in pairs[1:]:  # ×100, ×300
        start = time.process_time()  # CPU time: robust to other processes sharing the machine
        denoised = baseline.bm3d_baseline(pair.packed, pair.target)
        cpu_seconds = time.process_time() - start
        amplified = baseline.amplify_only(pair.packed, pair.target)
        gain = psnr_np(pair.target, denoised) - psnr_np(pair.target, amplified)
        assert gain > 4.0, f"x{pair.ratio:g}: BM3D only {gain:+.2f} dB over amplification-only"
        assert cpu_seconds < 20  # a 64×64×4 packed crop: ~2 s of CPU
    # Known parameters (the synthetic truth) work through the same path.
    pair = pairs[1]
    known = baseline.bm3d_baseline(pair.packed, pair.target, known_noise(pair.ratio))
    assert psnr_np(pair.target, known) > psnr_np(pair.target, baseline.amplify_only(pair.packed, pair.target)) + 4.0


def test_evaluate_adds_bm3d_columns(tmp_path):
    scenes = make_scenes(count=1, shape=(64, 64), ratios=(100.0,))
    noisy = lambda packed: np.repeat(np.repeat(baseline.packed_to_rgb(packed), 2, 0), 2, 1)  # noqa: E731
    report = evaluate(None, scenes=scenes, output=tmp_path, predictor=noisy, progress=False, baselines=("bm3d",))
    row = next(csv.DictReader(open(report.csv_path)))
    assert float(row["bm3d_psnr"]) > float(row["baseline_psnr"]) and float(row["bm3d_seconds"]) > 0
    overall = report.summary()["overall"]
    assert overall["bm3d_s_per_mp"] > 0
    assert "BM3D PSNR" in report.table() and "Mäkitalo" in report.table()
    with pytest.raises(LowlightError, match="unknown baseline"):
        evaluate(None, scenes=scenes, output=None, predictor=noisy, progress=False, baselines=("nlm",))


def test_bm3d_cache_is_opt_in_and_returns_the_first_result(tmp_path, monkeypatch):
    """LOWLIGHT_BM3D_CACHE keeps BM3D's (model-independent, deterministic up to float rounding) results: a second call on
    the same input reads them back with the first call's time; a different input is computed."""
    from keras_lowlight.evaluation import baseline

    rng = np.random.default_rng(0)
    packed = np.clip(rng.normal(0.2, 0.05, (16, 16, 4)), 0, 1).astype(np.float32)
    monkeypatch.delenv(baseline.BM3D_CACHE_ENV, raising=False)
    plain, _ = baseline.bm3d_timed(packed)
    monkeypatch.setenv(baseline.BM3D_CACHE_ENV, str(tmp_path / "cache"))
    first, seconds = baseline.bm3d_timed(packed)
    np.testing.assert_allclose(first, plain, atol=1e-6)  # bm3d's own thread pool: float-rounding apart
    entries = list((tmp_path / "cache").glob("*.npz"))
    assert len(entries) == 1
    calls = []
    monkeypatch.setattr(baseline, "bm3d_packed", lambda x: calls.append(x) or np.zeros_like(x))
    again, seconds_again = baseline.bm3d_timed(packed.copy())
    assert not calls and seconds_again == seconds
    np.testing.assert_array_equal(again, first)
    other, _ = baseline.bm3d_timed(packed[::-1].copy())  # another input: computed, not read back
    assert len(calls) == 1 and not other.any()
