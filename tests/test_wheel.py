"""The wheel works on its own, without TensorFlow: built by pip from this checkout, installed (not
editable) with `pip install "<wheel>[runtime]"` into a fresh venv that does NOT see any other
site-packages, it runs `lowlight enhance` with the default shipped model and `lowlight serve-web`
from a folder outside the checkout, and `import tensorflow` fails there.

The venv's packages come from the package index like a user's (pip's cache makes a rerun
quick): that is the proof that the `runtime` dependencies in pyproject.toml are complete.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

import numpy as np
import pytest

from keras_lowlight.runtime.dng import write_dng

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("tensorflow", "keras", "tf-keras", "tf_keras", "tensorflow-datasets", "tensorflow_datasets")


def _clean_env() -> dict:
    """The environment of a user's shell: nothing that points Python back at this checkout."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "LOWLIGHT_MODELS", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ folder of a fresh venv (no system or parent site-packages) holding `<wheel>[runtime]`."""
    tmp = tmp_path_factory.mktemp("wheel")
    # The test extra brings a setuptools new enough for pyproject.toml, so no isolated build env
    # (a fresh setuptools download per run) is needed.
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp / "dist")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("keras_lowlight-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    bin_dir = env_dir / "bin"
    # This interpreter's pip, installing into the new venv (`--python`): no ensurepip run, and the
    # dependencies are resolved and fetched (or taken from pip's cache) for that venv alone.
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "-q",
                              f"{wheel}[runtime]"], capture_output=True, text=True, env=_clean_env(), cwd=tmp)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-3000:]
    return bin_dir


def _run(installed: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed / "python"), "-c", code], capture_output=True, text=True,
                          env=_clean_env(), cwd=cwd)


def test_base_install_is_the_tensorflow_free_runtime():
    """`pip install keras-lowlight` (or `[runtime]`) declares no TensorFlow/Keras; `[train]` does."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = [d.split(">")[0].split("<")[0].split("=")[0].strip() for d in project["dependencies"]]
    assert "ai-edge-litert" in base and not set(base) & set(HEAVY), base
    assert project["optional-dependencies"]["runtime"] == []
    assert any(d.startswith("tensorflow>") for d in project["optional-dependencies"]["train"])


def test_fresh_venv_has_no_tensorflow_and_nothing_from_outside(installed, tmp_path):
    probe = _run(installed, "import sys, importlib.metadata as m, keras_lowlight; "
                            "print(keras_lowlight.__file__); print(sys.flags.no_site, *sys.path, sep='\\n'); "
                            "print('DISTS', *sorted(d.metadata['Name'].lower() for d in m.distributions()))",
                 tmp_path)
    assert probe.returncode == 0, probe.stderr[-3000:]
    lines = probe.stdout.splitlines()
    assert lines[0].startswith(str(installed.parent)), lines[0]  # the wheel's copy, not the checkout's
    site_dirs = [p for p in lines[2:-1] if "site-packages" in p or "dist-packages" in p]
    assert site_dirs and all(p.startswith(str(installed.parent)) for p in site_dirs), site_dirs
    dists = set(lines[-1].split()[1:])
    assert {"keras-lowlight", "ai-edge-litert", "numpy", "rawpy"} <= dists, dists
    assert not dists & set(HEAVY), dists
    for module in ("tensorflow", "keras"):
        result = _run(installed, f"import {module}", tmp_path)
        assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr, (module, result.stderr[-500:])


def test_installed_package_enhances_with_the_shipped_model(installed, tmp_path):
    """`lowlight enhance` of the venv, run from a folder outside the checkout, writes the same pixels
    as this checkout's enhance with its shipped model (the wheel carries that model)."""
    from keras_lowlight.runtime.enhance import enhance

    rng = np.random.default_rng(0)
    mosaic = np.clip(512 + rng.poisson(30, (96, 128)), 0, 16383).astype(np.uint16)
    raw = write_dng(tmp_path / "00001_00_0.04s.ARW", mosaic, "RGGB", exposure_time=0.04)
    out = subprocess.run([str(installed / "lowlight"), "enhance", str(raw), "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, env=_clean_env(), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["00001_00_0.04s.png"]
    enhance([raw], tmp_path / "checkout", progress=False)
    assert (tmp_path / "out" / "00001_00_0.04s.png").read_bytes() == \
        (tmp_path / "checkout" / "00001_00_0.04s.png").read_bytes()


def test_installed_package_enhances_an_xtrans_file(installed, tmp_path):
    """The X-Trans path too (its shipped model has a RAW head, rendered by the numpy-only ISP):
    it once needed scipy, which the runtime install does not have."""
    from keras_lowlight.runtime.enhance import enhance
    from keras_lowlight.runtime.packing import XTRANS_REFERENCE

    rng = np.random.default_rng(1)
    mosaic = np.clip(1024 + rng.poisson(30, (96, 120)), 0, 16383).astype(np.uint16)
    raw = write_dng(tmp_path / "00002_00_0.04s.dng", mosaic, XTRANS_REFERENCE, exposure_time=0.04)
    out = subprocess.run([str(installed / "lowlight"), "enhance", str(raw), "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, env=_clean_env(), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    enhance([raw], tmp_path / "checkout", progress=False)
    assert (tmp_path / "out" / "00002_00_0.04s.png").read_bytes() == \
        (tmp_path / "checkout" / "00002_00_0.04s.png").read_bytes()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_installed_package_serves_the_web_client(installed, tmp_path):
    share = installed.parent / "share" / "keras-lowlight"
    web = share / "mobile" / "web"
    port = _free_port()
    command = [str(installed / "lowlight"), "serve-web", "--port", str(port)]
    missing = subprocess.run(command, capture_output=True, text=True, env=_clean_env(), cwd=tmp_path, timeout=60)
    assert missing.returncode == 2 and f"run `npm ci` in {web}" in missing.stderr, missing.stderr
    (web / "node_modules" / "@litertjs" / "core").mkdir(parents=True)  # what `npm ci` there makes
    (web / "node_modules" / "@litertjs" / "core" / "index.js").write_text("export {};\n")
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_clean_env(), cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                page = urllib.request.urlopen(f"{base}/mobile/web/index.html", timeout=2).read()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                time.sleep(0.2)
        assert page == (REPO / "mobile" / "web" / "index.html").read_bytes()
        contract = json.loads(urllib.request.urlopen(f"{base}/mobile/MODEL_CONTRACT.json", timeout=5).read())
        shipped = contract["models"][0]["file"]
        model = urllib.request.urlopen(f"{base}/{shipped}", timeout=5).read()
        assert model == (REPO / shipped).read_bytes()
    finally:
        server.terminate()
        server.wait(timeout=10)
