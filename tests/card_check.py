"""Re-measuring a packaged model's card (metrics.json, written by `lowlight package`).

Shared by tests/test_shipped_models.py (every folder in saved_models/) and tests/test_package.py
(a freshly packaged tiny run), so the reader follows the layout the packager writes.

A card that lists its numbers per test pair (`per_image`) is re-checked on a subset: the first
`subset` pairs of the split are re-measured for the file and each must match its own recorded
PSNR / SSIM; the card's overall numbers must be the means of its per-pair numbers, over as many
pairs as it claims. Older cards (no per-pair numbers) are re-measured on every pair.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest

# What each results row of a metrics.json measured, for cards written before rows named their file.
LEGACY_FILES = {"keras float32": "model.keras", "tflite int8": "model_int8.tflite",
                "tflite float16": "model_float16.tflite", "tflite int8 256x256": "model_int8_tile256.tflite"}
# Same files, same data, same code: the card reproduces exactly on the packaging machine. The
# margin covers other CPUs' float rounding (XNNPACK kernels, oneDNN), not a different model.
PSNR_TOLERANCE_DB = 0.05
SSIM_TOLERANCE = 0.002
SUBSET = 12  # test pairs re-measured per file (4 scenes × 3 ratios of sid/synthetic)


def rows(folder: Path) -> dict[str, dict]:
    """metrics.json results keyed by file name; every shipped model file must have one."""
    results = json.loads((folder / "metrics.json").read_text())["results"]
    by_file = {row.get("file") or LEGACY_FILES[name]: {**row, "name": name} for name, row in results.items()}
    shipped = {p.name for p in folder.iterdir() if p.suffix in (".keras", ".tflite")}
    assert shipped <= set(by_file), f"{folder.name}: no measured row in metrics.json for {sorted(shipped - set(by_file))}"
    return by_file


def measure(folder: Path, file: str, dataset: str, limit: int | None):
    """Evaluates one packaged file exactly as `lowlight package` did (its own predictor: tiling, head
    read from the file; a file compiled for one tile shape runs that tile)."""
    from keras_lowlight.evaluation.evaluate import evaluate
    from keras_lowlight.reports.model_card import tflite_predictor

    if file.endswith(".keras"):
        return evaluate(folder / file, dataset=dataset, output=None, progress=False, limit=limit)
    from ai_edge_litert.interpreter import Interpreter

    static = Interpreter(model_path=str(folder / file)).get_input_details()[0]["shape_signature"][1] > 0
    head, predict = tflite_predictor(folder / file, static=static)
    return evaluate(None, dataset=dataset, output=None, progress=False, head=head, limit=limit,
                    predictor=predict)


@cache
def split_fingerprint_here(dataset: str) -> str:
    from keras_lowlight.data import split_fingerprint

    return split_fingerprint(dataset, "test")


def check_card(folder: Path, file: str, current_version: str | None, subset: int = SUBSET,
               must_beat_amplify_db: float = 0.5) -> str:
    """Asserts that `file`'s card numbers reproduce (see the module docstring). Returns "strict"
    or, for a card measured on another dataset version, "version differs" (only the margin over
    amplification-only is checked then: the caller warns)."""
    metrics = json.loads((folder / "metrics.json").read_text())
    claimed = rows(folder)[file]
    card = (folder / "MODEL_CARD.md").read_text()
    assert f"{claimed['psnr']:.2f}" in card and f"{claimed['ssim']:.4f}" in card  # the card states them
    per_image = (metrics.get("per_image") or {}).get(file)
    report = measure(folder, file, metrics["dataset"], limit=subset if per_image else None)
    measured = report.summary()["overall"]
    # It is worth shipping: better than the short frame × ratio on the same pairs.
    psnr = np.array([r.psnr for r in report.results])
    base = np.array([r.baseline_psnr for r in report.results])
    assert psnr.mean() > base.mean() + must_beat_amplify_db, (file, psnr, base)
    if metrics.get("dataset_version") != current_version:
        return "version differs"
    recorded = metrics.get("dataset_fingerprint")  # cards written before it was recorded: not checked
    if recorded is not None:
        here = split_fingerprint_here(metrics["dataset"])
        assert here == recorded, (
            f"{folder.name}: the {metrics['dataset']} {current_version} test split built here (fingerprint {here}) "
            f"is not the one its card was measured on ({recorded}); same version, other content — re-package")
    if per_image is None:  # an older card: every pair re-measured, means compared
        assert measured["count"] == claimed["count"], "the card was measured on a different number of test pairs"
        assert measured["psnr"] == pytest.approx(claimed["psnr"], abs=PSNR_TOLERANCE_DB), (file, measured, claimed)
        assert measured["ssim"] == pytest.approx(claimed["ssim"], abs=SSIM_TOLERANCE), (file, measured, claimed)
        return "strict"
    # The card's overall numbers are the means of its per-pair numbers, over the pairs it claims.
    assert len(per_image) == claimed["count"]
    assert np.mean([p["psnr"] for p in per_image]) == pytest.approx(claimed["psnr"], abs=1e-3)
    assert np.mean([p["ssim"] for p in per_image]) == pytest.approx(claimed["ssim"], abs=1e-4)
    assert claimed["psnr"] > claimed["baseline_psnr"] + must_beat_amplify_db
    recorded = {p["file"]: p for p in per_image}
    assert len(report.results) == min(subset, len(per_image))
    for r in report.results:
        assert r.psnr == pytest.approx(recorded[r.file]["psnr"], abs=PSNR_TOLERANCE_DB), (file, r, recorded[r.file])
        assert r.ssim == pytest.approx(recorded[r.file]["ssim"], abs=SSIM_TOLERANCE), (file, r, recorded[r.file])
    return "strict"
