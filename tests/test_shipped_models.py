"""Every model in saved_models/ reproduces its card: PSNR/SSIM re-measured per file.

The numbers come from the folder's own metrics.json (written by `lowlight package`), so the test
follows a re-shipped model; it fails when a file and its card disagree, when a shipped file has
no measured row, or when the model does not beat amplification-only. A card that lists its
numbers per test pair is re-checked pair by pair on the first `card_check.SUBSET` pairs (and its
overall numbers against the means of its per-pair numbers); an older card on every pair
(tests/card_check.py).

A card can only be reproduced on the dataset version it was measured on (metrics.json
`dataset_version`). A card measured on another version of the test split (or one that predates
the field) cannot be compared number for number: then the test says so in a warning and checks
only that every file beats amplification-only. Re-package the model (`lowlight package`) to get
the strict check back.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import card_check
import pytest

SAVED = Path(__file__).resolve().parent.parent / "saved_models"
SHIPPED = sorted(p for p in SAVED.iterdir() if (p / "model.keras").exists()) if SAVED.exists() else []


def test_at_least_one_model_ships():
    assert SHIPPED, "saved_models/ holds no model"
    for folder in SHIPPED:
        for name in ("MODEL_CARD.md", "metrics.json", "training_config.json", "model_int8.tflite",
                     "model_float16.tflite"):
            assert (folder / name).exists(), folder / name
        for file in folder.iterdir():
            assert file.stat().st_size < 15 * 2**20, f"{file} is over 15 MB"


@cache
def dataset_version(name: str) -> str:
    import tensorflow_datasets as tfds

    import tfds_sid  # noqa: F401  (registers `sid`)

    return str(tfds.builder(name).version)


CASES = [(folder, file) for folder in SHIPPED for file in sorted(card_check.rows(folder))]


@pytest.mark.parametrize("folder,file", CASES, ids=[f"{f.name}/{n}" for f, n in CASES])
def test_card_numbers_reproduce(folder, file):
    metrics = json.loads((folder / "metrics.json").read_text())
    current = dataset_version(metrics["dataset"])
    if card_check.check_card(folder, file, current) != "strict":
        warnings.warn(f"{folder.name}: its card was measured on {metrics['dataset']} "
                      f"{metrics.get('dataset_version', '(version not recorded)')}, the split is now {current}: "
                      "its numbers cannot be reproduced; re-package the model to check them")
