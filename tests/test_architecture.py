"""The layering declared in pyproject.toml ([tool.importlinter]) holds: `lint-imports` passes.

Contracts: keras_lowlight's role folders form layers (cli > reports > training > evaluation >
export > models | data > runtime), a layer importing only those below it; the runtime (RAW reading,
packing, tiling, LiteRT, rendering, writers, enhance) never imports TensorFlow or Keras.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
                          "--no-cache"], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout and "KEPT" in out.stdout


def test_an_upward_import_breaks_the_layers(tmp_path):
    """The contracts bite: a runtime module importing the training layer, even lazily inside a
    function, fails `lint-imports` (on a copy of the package, so the checkout is untouched)."""
    shutil.copytree(REPO / "keras_lowlight", tmp_path / "keras_lowlight",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "keras_lowlight" / "runtime" / "sneaky.py").write_text(
        "def f():\n    from keras_lowlight.training import train\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
                          "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode != 0, out.stdout[-3000:]
    assert "keras_lowlight.runtime.sneaky -> keras_lowlight.training.train" in out.stdout, out.stdout[-3000:]
