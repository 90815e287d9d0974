"""Every model in saved_models/ reproduces its card: PSNR/SSIM recomputed on ALL test pairs, per file.

The numbers come from the folder's own metrics.json (written by `lowlight package`), so the test
follows a re-shipped model; it fails when a file and its card disagree, when a shipped file has
no measured row, or when the model does not beat amplification-only.

A card can only be reproduced on the dataset version it was measured on (metrics.json
`dataset_version`). A card measured on another version of the test split (or one that predates
the field) cannot be compared number for number: then the test says so in a warning and checks
only that every file beats amplification-only on ALL pairs of the current split. Re-package the
model (`lowlight package`) to get the strict check back.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest

SAVED = Path(__file__).resolve().parent.parent / "saved_models"
SHIPPED = sorted(p for p in SAVED.iterdir() if (p / "model.keras").exists()) if SAVED.exists() else []
# What each results row of a metrics.json measured, for cards written before rows named their file.
LEGACY_FILES = {"keras float32": "model.keras", "tflite int8": "model_int8.tflite",
                "tflite float16": "model_float16.tflite", "tflite int8 256x256": "model_int8_tile256.tflite"}
# Same files, same data, same code: the card reproduces exactly on the packaging machine. The
# margin covers other CPUs' float rounding (XNNPACK kernels, oneDNN), not a different model.
PSNR_TOLERANCE_DB = 0.05
SSIM_TOLERANCE = 0.002


def test_at_least_one_model_ships():
    assert SHIPPED, "saved_models/ holds no model"
    for folder in SHIPPED:
        for name in ("MODEL_CARD.md", "metrics.json", "training_config.json", "model_int8.tflite",
                     "model_float16.tflite"):
            assert (folder / name).exists(), folder / name
        for file in folder.iterdir():
            assert file.stat().st_size < 15 * 2**20, f"{file} is over 15 MB"


def _rows(folder: Path) -> dict[str, dict]:
    """metrics.json results keyed by file name; every shipped model file must have one."""
    results = json.loads((folder / "metrics.json").read_text())["results"]
    rows = {row.get("file") or LEGACY_FILES[name]: {**row, "name": name} for name, row in results.items()}
    shipped = {p.name for p in folder.iterdir() if p.suffix in (".keras", ".tflite")}
    assert shipped <= set(rows), f"{folder.name}: no measured row in metrics.json for {sorted(shipped - set(rows))}"
    return rows


@cache
def dataset_version(name: str) -> str:
    import tensorflow_datasets as tfds

    import tfds_sid  # noqa: F401  (registers `sid`)

    return str(tfds.builder(name).version)


CASES = [(folder, file) for folder in SHIPPED for file in sorted(_rows(folder))]


@pytest.mark.parametrize("folder,file", CASES, ids=[f"{f.name}/{n}" for f, n in CASES])
def test_card_numbers_reproduce_on_all_test_pairs(folder, file):
    from keras_lowlight.runtime.contract import TILE
    from keras_lowlight.evaluation.evaluate import evaluate
    from keras_lowlight.runtime.engine import LiteRTEngine, enhance_frame

    metrics = json.loads((folder / "metrics.json").read_text())
    claimed = _rows(folder)[file]
    card = (folder / "MODEL_CARD.md").read_text()
    assert f"{claimed['psnr']:.2f}" in card and f"{claimed['ssim']:.4f}" in card  # the card states them

    if file.endswith(".keras"):
        report = evaluate(folder / file, dataset=metrics["dataset"], output=None, progress=False)
    else:
        from ai_edge_litert.interpreter import Interpreter

        engine = LiteRTEngine(folder / file, num_threads=2)
        # A file compiled for one tile shape runs exactly that tile (as `lowlight package` measured it).
        static = Interpreter(model_path=str(folder / file)).get_input_details()[0]["shape_signature"][1] > 0
        report = evaluate(None, dataset=metrics["dataset"], output=None, progress=False,
                          predictor=lambda packed: enhance_frame(engine, packed, tile=TILE["size"],
                                                                 overlap=TILE["overlap"], shrink=not static))
    measured = report.summary()["overall"]
    # It is worth shipping: better than the short frame × ratio on the same pairs.
    psnr = np.array([r.psnr for r in report.results])
    base = np.array([r.baseline_psnr for r in report.results])
    assert psnr.mean() > base.mean() + 0.5, (psnr, base)
    current = dataset_version(metrics["dataset"])
    if metrics.get("dataset_version") != current:
        warnings.warn(f"{folder.name}: its card was measured on {metrics['dataset']} "
                      f"{metrics.get('dataset_version', '(version not recorded)')}, the split is now {current}: "
                      "its numbers cannot be reproduced; re-package the model to check them")
        return
    assert measured["count"] == claimed["count"], "the card was measured on a different number of test pairs"
    assert measured["psnr"] == pytest.approx(claimed["psnr"], abs=PSNR_TOLERANCE_DB), (file, measured, claimed)
    assert measured["ssim"] == pytest.approx(claimed["ssim"], abs=SSIM_TOLERANCE), (file, measured, claimed)
