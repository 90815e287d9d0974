"""Full-resolution evaluation: per-image CSV, per-ratio summary, contact sheet, baseline."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from keras_lowlight import baseline
from keras_lowlight.errors import LowlightError
from keras_lowlight.evaluate import evaluate
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
