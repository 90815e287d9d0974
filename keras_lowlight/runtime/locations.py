"""Where the shipped models and the web client are, in a checkout and in an installed package.

A checkout keeps them at the repository root (`saved_models/`, `mobile/`). A wheel carries them as
data files, installed under `<prefix>/share/keras-lowlight/` (pyproject.toml,
[tool.setuptools.data-files]). `$LOWLIGHT_MODELS` points at another models folder.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from pathlib import Path

from keras_lowlight.runtime.errors import LowlightError

PACKAGE = Path(__file__).resolve().parents[1]  # keras_lowlight/ (this file is in runtime/)
CHECKOUT = PACKAGE.parent
SHARE_NAME = "keras-lowlight"
MODELS_ENV = "LOWLIGHT_MODELS"


class MissingDataError(LowlightError):
    """Shipped data (models, web client) that this installation does not have."""


def data_roots() -> list[Path]:
    """Folders that may hold `saved_models/` and `mobile/`: the checkout first (a source tree wins
    over an installed copy), then the install schemes' `share/keras-lowlight`."""
    roots = []
    if (CHECKOUT / "pyproject.toml").is_file():
        roots.append(CHECKOUT)
    prefixes = [sysconfig.get_path("data"), sys.prefix, getattr(site, "USER_BASE", None)]
    for prefix in prefixes:
        if prefix and (Path(prefix) / "share" / SHARE_NAME) not in roots:
            roots.append(Path(prefix) / "share" / SHARE_NAME)
    return roots


def models_folder() -> Path:
    """The folder holding `mobile_bayer/`, … : $LOWLIGHT_MODELS, the checkout's, or the installed one."""
    if os.environ.get(MODELS_ENV):
        return Path(os.environ[MODELS_ENV])
    roots = data_roots()
    for root in roots:
        if (root / "saved_models").is_dir():
            return root / "saved_models"
    raise MissingDataError(
        f"no shipped models found (looked in {', '.join(str(r / 'saved_models') for r in roots)}); "
        f"set {MODELS_ENV} to a folder holding mobile_bayer/, or pass --model FILE"
    )


def web_root() -> Path:
    """The folder `lowlight serve-web` serves: it holds `mobile/web/` and `saved_models/`."""
    roots = data_roots()
    for root in roots:
        if (root / "mobile" / "web" / "index.html").is_file():
            return root
    raise MissingDataError(f"the web client is not installed (no mobile/web/index.html in "
                           f"{', '.join(str(r) for r in roots)})")
