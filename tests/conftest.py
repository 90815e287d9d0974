"""Shared fixtures: genuine DNG files written on the fly and read back through LibRaw."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from keras_lowlight.runtime.dng import write_dng
from keras_lowlight.runtime.packing import XTRANS_REFERENCE


@pytest.fixture
def write_raw(tmp_path):
    """Factory: write_raw(name, cfa="RGGB", shape=(48, 64), **dng_kwargs) -> (path, mosaic)."""

    def make(name: str = "00001_00_0.04s.ARW", cfa: str = "RGGB", shape=(48, 64), seed: int = 0, **kw):
        rng = np.random.default_rng(seed)
        black = kw.get("black_level", 512)
        white = kw.get("white_level", 16383)
        lo = int(np.max(black))
        mosaic = rng.integers(lo, white + 1, size=shape, dtype=np.int64).astype(np.uint16)
        path = write_dng(tmp_path / name, mosaic, cfa, **kw)
        return path, mosaic

    return make


_REPORTS = pytest.StashKey[dict]()


@pytest.fixture(scope="session")
def fuzz_report(request) -> dict:
    """Tests put summary lines here (title -> lines); they are printed in the terminal summary,
    so CI's log shows them without `pytest -s`."""
    return request.config.stash.setdefault(_REPORTS, {})


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for title, lines in config.stash.get(_REPORTS, {}).items():
        terminalreporter.write_sep("-", title)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def xtrans_pattern() -> str:
    return XTRANS_REFERENCE


@pytest.fixture(scope="session")
def canon_dng(tmp_path_factory) -> Path:
    """colorchart.dng (Canon EOS 550D) from the tinydng 0.1.0 sdist on PyPI, cached, never committed."""
    import os
    import tarfile

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "keras_lowlight" / "tinydng"
    target = cache / "colorchart.dng"
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        download = tmp_path_factory.mktemp("tinydng")
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", "tinydng",
             "tinydng==0.1.0", "-d", str(download)],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            pytest.skip(f"PyPI unreachable, cannot fetch the tinydng sdist: {result.stderr.strip()[-200:]}")
        with tarfile.open(next(download.glob("tinydng-0.1.0.tar.gz"))) as tar:
            member = tar.getmember("tinydng-0.1.0/colorchart.dng")
            target.write_bytes(tar.extractfile(member).read())
    return target
