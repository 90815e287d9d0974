"""The quantization report end to end on a tiny model and development data (one subprocess)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_report_has_one_row_per_mode_with_measurements(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [
        sys.executable, str(REPO / "benchmarks" / "quantize_report.py"), "--preset", "tiny", "--train-steps", "8",
        "--train-crop", "32", "--train-batch", "4", "--data", "random", "--images", "2", "--calibration-count", "16",
        "--qat-steps", "0", "--repeats", "2", "--latency-size", "64", "--modes", "float32,int8", "-o", str(tmp_path),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| float32 Keras |" in proc.stdout and "| int8 PTQ |" in proc.stdout
    rows = {row["mode"]: row for row in csv.DictReader(open(tmp_path / "report.csv"))}
    assert set(rows) == {"float32 Keras", "float32", "int8 PTQ"}
    assert float(rows["float32"]["psnr_drop_db"]) == pytest.approx(0.0, abs=1e-3)
    assert float(rows["int8 PTQ"]["size_mb"]) < float(rows["float32"]["size_mb"])
    for mode in ("float32", "int8 PTQ"):
        assert float(rows[mode]["ms_per_output_mp"]) > 0
        assert 0 < float(rows[mode]["peak_rss_mb_full_frame"]) < 2048  # a full Sony frame, tiled
    assert (tmp_path / "model_int8.tflite").stat().st_size > 0
