"""Where the shipped models and the web client are, in a checkout and in an installed package.

A checkout keeps them at the repository root (`saved_models/`, `mobile/`); a wheel carries them as
package data under `keras_lowlight/_shipped/` (see pyproject.toml). `$LOWLIGHT_MODELS` points at
another models folder (for instance models downloaded beside a `pip install` of the runtime).
"""

from __future__ import annotations

import os
from pathlib import Path

from keras_lowlight.errors import LowlightError

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
SHIPPED = PACKAGE / "_shipped"
MODELS_ENV = "LOWLIGHT_MODELS"


class MissingDataError(LowlightError):
    """Shipped data (models, web client) that this installation does not have."""


def _first_existing(*candidates: Path) -> Path | None:
    return next((c for c in candidates if c.is_dir()), None)


def models_folder() -> Path:
    """The folder holding `mobile_bayer/`, … : $LOWLIGHT_MODELS, the wheel's data, or the checkout's."""
    if os.environ.get(MODELS_ENV):
        return Path(os.environ[MODELS_ENV])
    found = _first_existing(SHIPPED / "saved_models", CHECKOUT / "saved_models")
    if found is None:
        raise MissingDataError(
            f"no shipped models found (looked in {SHIPPED / 'saved_models'} and {CHECKOUT / 'saved_models'}); "
            f"set {MODELS_ENV} to a folder holding mobile_bayer/ or pass --model FILE"
        )
    return found


def web_root() -> Path:
    """The folder served by `lowlight serve-web`: it holds `mobile/` and `saved_models/`."""
    for root in (SHIPPED, CHECKOUT):
        if (root / "mobile" / "web" / "index.html").is_file():
            return root
    raise MissingDataError(f"the web client is not installed (no mobile/web/index.html in {SHIPPED} or {CHECKOUT})")
