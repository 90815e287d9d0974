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
        row = rows[mode]
        # The columns agree with each other and with the files (not just "> 0"): the speed-up is
        # the float32 latency over this row's, the size is the file's, and the backend is named.
        assert float(row["speedup_vs_float32_tflite"]) == pytest.approx(
            float(rows["float32"]["ms_per_output_mp"]) / float(row["ms_per_output_mp"]), rel=1e-6)
        assert float(row["size_mb"]) == pytest.approx((tmp_path / row["file"]).stat().st_size / 1e6, rel=1e-6)
        assert row["backend"] in ("LiteRT xnnpack", "LiteRT builtin")
        # Peak RSS of a full Sony frame through the tiler: at least the frame's float32 packed
        # input (1424×2128×4) and under the 2 GB goal.
        assert 1424 * 2128 * 4 * 4 / 2**20 < float(row["peak_rss_mb_full_frame"]) < 2048
