"""The wheel works outside the checkout: built by pip, installed (not editable) into a fresh venv,
it runs `lowlight enhance` with the default shipped model and `lowlight serve-web`.

To stay fast the fresh venv gets the wheel with `--no-deps`, and finds the heavy dependencies
(numpy, rawpy, LiteRT, …) through a `.pth` line naming this interpreter's site-packages — a plain
path entry, so that folder's own `.pth` files (an editable install of the checkout) are not
processed and cannot shadow the installed wheel.
"""

from __future__ import annotations

import json
import os
import site
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


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ folder of a fresh venv holding the wheel built from this checkout."""
    tmp = tmp_path_factory.mktemp("wheel")
    # The test extra brings a setuptools new enough for pyproject.toml, so no isolated build env
    # (a fresh setuptools download per run) is needed.
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp / "dist")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("keras_lowlight-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    bin_dir = env_dir / "bin"
    purelib = subprocess.run([str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # pip of this interpreter, installing for the new one (`--python`): scripts get its shebang.
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install",
                              "--no-deps", "--no-index", "-q", str(wheel)], capture_output=True, text=True,
                             env=_clean_env())
    assert install.returncode == 0, install.stderr[-3000:]
    # After the install (else pip would see the checkout's editable install there and skip it).
    parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "zz_parent_site.pth").write_text("\n".join(parents) + "\n")
    return bin_dir


def test_base_install_is_the_tensorflow_free_runtime():
    """`pip install keras-lowlight` (or `[runtime]`) pulls no TensorFlow/Keras; `[train]` does."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    heavy = ("tensorflow", "keras", "tf-keras", "tensorflow-datasets")
    base = [d.split(">")[0].split("<")[0].split("=")[0].strip() for d in project["dependencies"]]
    assert "ai-edge-litert" in base and not set(base) & set(heavy), base
    assert project["optional-dependencies"]["runtime"] == []
    assert any(d.startswith("tensorflow>") for d in project["optional-dependencies"]["train"])


def _clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LOWLIGHT_MODELS")}


def test_installed_package_enhances_with_the_shipped_model(installed, tmp_path):
    where = subprocess.run([str(installed / "python"), "-c", "import keras_lowlight; print(keras_lowlight.__file__)"],
                           capture_output=True, text=True, env=_clean_env(), cwd=tmp_path)
    assert str(installed.parent) in where.stdout, where.stdout + where.stderr  # not the checkout's copy
    rng = np.random.default_rng(0)
    mosaic = np.clip(512 + rng.poisson(30, (96, 128)), 0, 16383).astype(np.uint16)
    raw = write_dng(tmp_path / "00001_00_0.04s.ARW", mosaic, "RGGB", exposure_time=0.04)
    out = subprocess.run([str(installed / "lowlight"), "enhance", str(raw), "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, env=_clean_env(), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["00001_00_0.04s.png"]


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
