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
    from keras_lowlight.runtime.contract import CONTRACT_PATH
    from keras_lowlight.runtime.dng import write_dng
    from keras_lowlight.runtime.enhance import amplification_ratio, prepare_input
    from keras_lowlight.runtime.packing import BAYER_PATTERNS
    from keras_lowlight.runtime.raw import read_raw

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
        from keras_lowlight.runtime.exposure import estimate_ratio  # the contract's `ratio.auto`, in JavaScript too

        assert got["auto"] == pytest.approx(estimate_ratio(image), rel=1e-5)


def test_javascript_renders_a_raw_head_output_like_keras_lowlight_isp(tmp_path):
    """pipeline.js renders a RAW-head model's packed output with the DNG's own colour as
    `keras_lowlight.runtime.isp.render_packed` does, and its tiler carries the RAW head's 4 channels."""
    from keras_lowlight.runtime import isp
    from keras_lowlight.runtime.packing import BAYER_PATTERNS

    rng = np.random.default_rng(2)
    xyz_to_cam = np.array([[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.0970, 0.1581, 0.5181]])
    neutral = [1 / 2.1, 1.0, 1 / 1.6]
    cases = {}
    for cfa in BAYER_PATTERNS:
        packed = np.clip(rng.uniform(-0.05, 0.6, (11, 13, 4)), -0.1, 1.1).astype(np.float32)
        cases[cfa] = {"packed": packed.ravel().tolist(), "height": 11, "width": 13, "cfa": cfa,
                      "as_shot_neutral": neutral, "color_matrix": xyz_to_cam.ravel().tolist()}
    (tmp_path / "in.json").write_text(json.dumps(cases))
    out = subprocess.run(["node", str(WEB / "tests" / "render.mjs"), str(tmp_path / "in.json"),
                          str(tmp_path / "out.json")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    results = json.loads((tmp_path / "out.json").read_text())
    for cfa, case in cases.items():
        packed = np.asarray(case["packed"], np.float32).reshape(11, 13, 4)
        expected = isp.render_packed(packed, cfa, 1 / np.asarray(neutral), xyz_to_cam)
        got = np.asarray(results[cfa]["rendered"], np.float32).reshape(22, 26, 3)
        np.testing.assert_allclose(got, expected, atol=2e-6)
        assert results[cfa]["tiled_shape"] == [11, 13, 4]
        np.testing.assert_allclose(np.asarray(results[cfa]["tiled"]).reshape(11, 13, 4), 0.5 * packed + 0.01,
                                   atol=1e-6)
