"""The LiteRT.js client in a real headless Chromium vs the Python LiteRT runtime, same input.

Needs Debian's chromium and `npm ci` in mobile/web: `make test-web` installs both and runs this.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
WEB = REPO / "mobile" / "web"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.web,
    pytest.mark.skipif(not Path(CHROMIUM).exists() or not (WEB / "node_modules" / "playwright-core").exists(),
                       reason="run `make test-web` (installs Debian's chromium and mobile/web's npm packages)"),
]


def test_browser_output_matches_python_litert(tmp_path):
    from keras_lowlight.runtime.contract import load_contract
    from keras_lowlight.runtime.enhance import amplification_ratio, prepare_input
    from keras_lowlight.models.metrics import psnr_np
    from keras_lowlight.runtime.raw import read_raw
    from keras_lowlight.runtime.engine import LiteRTEngine, enhance_frame
    from keras_lowlight.cli.serve_web import serve_in_background

    contract = load_contract()
    entry = next(m for m in contract["models"]
                 if m["cfa"] == "bayer" and m["quantization"] == "int8" and m["tile"]["fixed"])
    server, url = serve_in_background()
    try:
        out = subprocess.run(["node", str(WEB / "tests" / "e2e.mjs"), url, str(tmp_path / "r.json"),
                              str(tmp_path / "shot.png")], capture_output=True, text=True, timeout=400)
    finally:
        server.shutdown()
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((tmp_path / "r.json").read_text())
    assert "error" not in result, result
    web = np.asarray(result["data"], np.float32).reshape(result["height"], result["width"], 3)

    image = read_raw(WEB / "sample.dng")
    ratio = amplification_ratio(image)
    assert result["ratio"] == pytest.approx(ratio)
    engine = LiteRTEngine(REPO / entry["file"], num_threads=2)
    tile = entry["tile"]
    python = enhance_frame(engine, prepare_input(image, ratio), tile=tile["size"], overlap=tile["overlap"],
                           shrink=not tile["fixed"])
    raw_head = entry.get("head") == "raw"
    if raw_head:  # the page renders the packed RAW with the file's colour, as isp.render_packed does
        from keras_lowlight.runtime.isp import render_packed

        python = render_packed(np.clip(python, 0, 1), image.cfa_pattern, image.white_balance, image.xyz_to_cam)
    assert web.shape == python.shape == (image.height, image.width, 3)
    agreement = psnr_np(np.clip(python, 0, 1), np.clip(web, 0, 1))
    print(f"web vs Python LiteRT: {agreement:.1f} dB, max |diff| {np.abs(web - python).max():.3g}; {result['status']}")
    if raw_head:
        # The page's JavaScript renderer is float64 arithmetic in another order than numpy's:
        # equal to float rounding (measured: max |diff| ~6e-8).
        np.testing.assert_allclose(web, python, atol=1e-5)
    else:
        # The READMEs call the two outputs identical: so they must be, bit for bit (measured: they are,
        # on LiteRT.js's wasm CPU backend vs ai_edge_litert's XNNPACK). If a runtime update breaks this,
        # measure the difference and put it in the READMEs instead of "identical".
        np.testing.assert_array_equal(web, python)
    assert (tmp_path / "shot.png").stat().st_size > 10_000
    # Keep the picture where a person can look at it (mobile/web/screenshot.png is one such run).
    shutil.copyfile(tmp_path / "shot.png", Path(os.environ.get("LOWLIGHT_SCREENSHOT", tmp_path / "kept.png")))

