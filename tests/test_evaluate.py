"""Full-resolution evaluation: per-image CSV, per-ratio summary, contact sheet, baseline."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from keras_lowlight.evaluation import baseline
from keras_lowlight.runtime.errors import LowlightError
from keras_lowlight.evaluation.evaluate import evaluate
from scenes import make_scenes


def perfect_predictor(scenes):
    """Returns each pair's own ground truth: PSNR must come out infinite-ish / SSIM 1."""
    from keras_lowlight import data

    truths = [p.target for p in data.eval_pairs(scenes=scenes)]
    it = iter(truths)
    return lambda packed: next(it)


def test_evaluate_writes_csv_summary_and_sheet(tmp_path):
    scenes = make_scenes(count=2, ratios=(100, 250, 300))
    noisy = lambda packed: np.repeat(np.repeat(baseline.packed_to_rgb(packed), 2, 0), 2, 1)  # noqa: E731
    report = evaluate(None, scenes=scenes, protocol="all", output=tmp_path, predictor=noisy, progress=False)
    assert len(report.results) == 6
    rows = list(csv.DictReader(open(report.csv_path)))
    assert len(rows) == 6 and set(rows[0]) >= {"file", "ratio", "psnr", "ssim", "baseline_psnr"}
    summary = report.summary()
    assert set(summary) == {"x100", "x250", "x300", "overall"}
    assert summary["x100"]["count"] == 2 and summary["overall"]["count"] == 6
    # More amplification, more noise: the ×300 images are worse than the ×100 ones.
    assert summary["x300"]["psnr"] < summary["x100"]["psnr"]
    assert report.sheet_path.exists() and report.sheet_path.stat().st_size > 1000
    assert "data_range 1" in (tmp_path / "summary.md").read_text()


def test_perfect_prediction_scores_high(tmp_path):
    scenes = make_scenes(count=1, ratios=(100,))
    report = evaluate(None, scenes=scenes, output=None, predictor=perfect_predictor(scenes), progress=False)
    assert report.results[0].ssim > 0.999 and report.results[0].psnr > 80


def test_protocol_filters(tmp_path):
    scenes = make_scenes(count=2, ratios=(100, 300), first_scene=10033)
    predict = lambda packed: np.zeros((packed.shape[0] * 2, packed.shape[1] * 2, 3), np.float32)  # noqa: E731
    assert len(evaluate(None, scenes=scenes, protocol="maharjan", output=None, predictor=predict,
                        progress=False).results) == 1
    with pytest.raises(LowlightError, match="no test pairs"):
        evaluate(None, scenes=make_scenes(count=1, first_scene=10034), protocol="maharjan", output=None,
                 predictor=predict, progress=False)


def test_baseline_oracle_colour_recovers_clean_image():
    yy, xx = np.mgrid[0:16, 0:16] / 16
    linear = np.stack([0.2 + 0.5 * xx, 0.3 + 0.4 * yy, 0.1 + 0.6 * xx * yy], -1).astype(np.float32)
    packed = np.stack([linear[..., 0], linear[..., 1], linear[..., 2], linear[..., 1]], -1)
    target = baseline.bt709_encode(np.repeat(np.repeat(linear, 2, 0), 2, 1) @ np.diag([0.9, 1.0, 1.2]))
    out = baseline.amplify_only(packed, target.astype(np.float32))
    # Bilinear upsampling blurs; the colour fit itself must be close.
    assert np.abs(out - target).mean() < 0.02


# --- ΔE and RAW-head evaluation ------------------------------------------------------------------


def _raw_pairs(count=3, seed=0):
    """Pairs as `data.eval_pairs` yields them with the clean long exposure (`target_raw`)."""
    from types import SimpleNamespace

    rng = np.random.default_rng(seed)
    pairs = []
    for i, ratio in zip(range(count), (100, 250, 300)):
        clean = np.kron(rng.uniform(0.02, 0.4, (5, 6, 4)), np.ones((8, 8, 1))).astype(np.float32)
        noisy = np.clip(clean + rng.normal(0, 0.02 * ratio / 100, clean.shape), 0, 1).astype(np.float32)
        pairs.append(SimpleNamespace(
            packed=noisy, target=None, target_raw=clean, white_balance=np.array([2.0, 1.0, 1.6], np.float32),
            xyz_to_cam=np.array([[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.097, 0.1581, 0.5181]]),
            cfa_pattern="RGGB", file=f"1000{i}_00_0.1s.ARW", scene_id=10000 + i, burst=0, ratio=float(ratio),
        ))
    return pairs


def test_raw_head_output_and_truth_are_rendered_alike(tmp_path, monkeypatch):
    from keras_lowlight.evaluation import evaluate as evaluate_module
    from keras_lowlight.runtime import isp
    from keras_lowlight import models

    pairs = _raw_pairs()
    monkeypatch.setattr(evaluate_module.data_lib, "eval_pairs", lambda *a, **k: iter(pairs))
    truths = iter(p.target_raw for p in pairs)
    perfect = evaluate(None, output=None, predictor=lambda packed: next(truths), head="raw", progress=False)
    assert all(r.psnr > 80 and r.delta_e < 1e-3 for r in perfect.results)
    noisy = evaluate(None, output=tmp_path, predictor=lambda packed: packed, head="raw", progress=False)
    assert all(r.psnr < 45 and r.delta_e > 0.1 for r in noisy.results)
    # Like with like: a RAW-head "model" that returns its input IS amplification-only, because the
    # baseline is rendered by the same ISP with the file's colour (no oracle colour fit).
    for r in noisy.results:
        assert (r.psnr, r.ssim, r.delta_e) == pytest.approx((r.baseline_psnr, r.baseline_ssim, r.baseline_delta_e))
    # The head is read from a Keras model: a RAW-head model goes through the RAW path by itself.
    model = models.get("tiny", head="raw")
    auto = evaluate(model, output=None, progress=False)
    assert len(auto.results) == 3 and np.isfinite(auto.results[0].psnr)
    rendered, truth = evaluate_module.render_raw_pair(pairs[0].target_raw, pairs[0])
    np.testing.assert_array_equal(rendered, truth)
    np.testing.assert_array_equal(truth, isp.render_packed(pairs[0].target_raw, "RGGB", pairs[0].white_balance,
                                                           pairs[0].xyz_to_cam))
    # ΔE is in the CSV, the summary table and the sheet's labels
    row = next(csv.DictReader(open(noisy.csv_path)))
    assert float(row["delta_e"]) == pytest.approx(noisy.results[0].delta_e, abs=1e-3)
    assert "| ΔE |" in (tmp_path / "summary.md").read_text()
    assert noisy.summary()["overall"]["delta_e"] > 0


def test_raw_head_without_a_clean_raw_truth_is_one_clear_error(monkeypatch):
    from keras_lowlight.evaluation import evaluate as evaluate_module

    pairs = _raw_pairs(1)
    pairs[0].target_raw = None
    monkeypatch.setattr(evaluate_module.data_lib, "eval_pairs", lambda *a, **k: iter(pairs))
    with pytest.raises(LowlightError, match="needs the clean long exposure"):
        evaluate(None, output=None, predictor=lambda packed: packed, head="raw", progress=False)


def test_delta_e_separates_a_colour_cast_that_psnr_hides(tmp_path):
    scenes = make_scenes(count=1, ratios=(100,))
    from keras_lowlight import data

    truth = [p.target for p in data.eval_pairs(scenes=scenes)][0]
    cast = np.clip(truth * np.array([1.06, 1.0, 0.94], np.float32), 0, 1)
    report = evaluate(None, scenes=scenes, output=None, predictor=lambda packed: cast, progress=False)
    assert report.results[0].psnr > 28  # a mild cast: PSNR still looks fine…
    assert report.results[0].delta_e > 1.0  # … ΔE shows it


def test_raw_head_model_on_a_scene_dataset_scores_against_the_isp_rendered_long_exposure():
    """With the dataset's own `long_raw`, white balance and colour matrix (no stand-ins)."""
    from keras_lowlight import data, models
    from keras_lowlight.runtime import isp
    from keras_lowlight.models.metrics import psnr_np

    scenes = make_scenes(count=1, ratios=(100,))
    (pair,) = list(data.eval_pairs(scenes=scenes))
    report = evaluate(models.get("tiny", head="raw"), scenes=scenes, output=None, progress=False)
    # An untrained RAW head returns its input: the score is the amplified input's, rendered alike.
    truth = isp.render_packed(pair.target_raw, pair.cfa_pattern, pair.white_balance, pair.xyz_to_cam)
    amplified = isp.render_packed(pair.packed, pair.cfa_pattern, pair.white_balance, pair.xyz_to_cam)
    assert report.results[0].psnr == pytest.approx(psnr_np(truth, amplified), abs=1e-3)
    assert report.results[0].delta_e > 0
