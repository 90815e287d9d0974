"""The web client's DNG reader and packing (mobile/web/*.js, run by Node.js) equal keras_lowlight's."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

WEB = Path(__file__).resolve().parent.parent / "mobile" / "web"


def test_javascript_packing_equals_python_for_every_bayer_order(tmp_path):
    """dng.js + pipeline.js read and pack exactly like keras_lowlight (per-site black levels too)."""
    from keras_lowlight.contract import CONTRACT_PATH
    from keras_lowlight.dng import write_dng
    from keras_lowlight.enhance import amplification_ratio, prepare_input
    from keras_lowlight.packing import BAYER_PATTERNS
    from keras_lowlight.raw import read_raw

    rng = np.random.default_rng(0)
    files = []
    for i, cfa in enumerate(BAYER_PATTERNS):
        mosaic = rng.integers(400, 4000, (46, 62)).astype(np.uint16)
        files.append(write_dng(tmp_path / f"{cfa}.dng", mosaic, cfa, black_level=(500, 510, 520, 530),
                               white_level=15000, exposure_time=[0.1, 0.04, None, 0.02][i]))
    out = subprocess.run(["node", str(WEB / "tests" / "pack.mjs"), str(tmp_path / "p.json"), str(CONTRACT_PATH),
                          *map(str, files)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    results = json.loads((tmp_path / "p.json").read_text())
    for path in files:
        image = read_raw(path)
        ratio = amplification_ratio(image)
        expected = prepare_input(image, ratio)
        got = results[str(path)]
        assert got["cfa"] == image.cfa_pattern and got["ratio"] == pytest.approx(ratio)
        packed = np.asarray(got["data"], np.float32).reshape(got["height"], got["width"], 4)
        np.testing.assert_allclose(packed, expected, atol=1e-6)
