"""The README's main job end to end (short): `lowlight demo` writes every picture and table it announces."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_runs_the_whole_story(tmp_path):
    out = subprocess.run([sys.executable, "-m", "keras_lowlight.cli", "demo", "-o", str(tmp_path), "--steps", "8"],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    for name in ("before_after.png", "demo_model_int8.tflite", "evaluate/summary.md", "evaluate/per_image.csv",
                 "evaluate/contact_sheet.png", "train/log.csv"):
        assert (tmp_path / name).exists(), name
    assert "before/after picture" in out.stdout and "Done in" in out.stdout
    assert any(p.name.endswith("_16bit.png") for p in (tmp_path / "enhanced").iterdir())
    # The picture judges the demo's own model (its int8 file is what made enhanced/), with the
    # shipped model beside it: before | demo's model | shipped model | reference, 360 px each.
    assert any(p.name.endswith("_16bit.png") for p in (tmp_path / "enhanced_shipped").iterdir())
    from PIL import Image

    assert Image.open(tmp_path / "before_after.png").size[0] == 4 * 360
