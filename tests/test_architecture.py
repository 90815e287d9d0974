"""The layering declared in pyproject.toml ([tool.importlinter]) holds: `lint-imports` passes.

Contracts: the runtime (RAW reading, packing, tiling, LiteRT, writers, enhance) never imports
TensorFlow, Keras or the training side; models never import the data pipeline; the data pipeline
never imports models, training or export.
"""

from __future__ import annotations

import os
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
