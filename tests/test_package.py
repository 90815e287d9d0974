"""`lowlight package`: a finished run becomes a model folder whose card states measured numbers and
the run's real configuration; an existing package is replaced only with --force, atomically; the
phone contract changes only with --update-contract."""

from __future__ import annotations

import csv
import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keras_lowlight.runtime.errors import LowlightError

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_package_a_short_run(tmp_path):
    from keras_lowlight import models
    from keras_lowlight.runtime.contract import CONTRACT_PATH
    from keras_lowlight.reports.model_card import package
    from keras_lowlight.training.train import train

    contract_before = CONTRACT_PATH.read_text()
    run = tmp_path / "run"
    train(models.get("tiny_mobile", cfa="bayer"), dataset="sid/synthetic", crop=32, batch=4, epochs=1,
          steps_per_epoch=3, decay_factor=0.5, output=str(run), verbose=0)
    out = package(run, tmp_path / "shipped", logs=[])
    for name in ("model.keras", "model_int8.tflite", "model_float16.tflite", "model_int8_tile256.tflite",
                 "MODEL_CARD.md", "metrics.json", "training_config.json", "before_after.png"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    logged = json.loads((run / "train_time.json").read_text())
    assert metrics["steps"] == 3 and metrics["training_seconds"] == pytest.approx(logged["seconds"])
    assert metrics["training_hardware"] == logged["hardware"] and logged["segments"][0]["hardware"]
    assert metrics["dataset"] == "sid/synthetic" and metrics["dataset_version"]
    assert {row["file"] for row in metrics["results"].values()} == set(metrics["files"])
    card = (out / "MODEL_CARD.md").read_text()
    assert f"{metrics['results']['keras float32']['psnr']:.2f}" in card
    assert "÷2 every" in card and "÷10" not in card  # the run's decay factor (0.5), not a constant
    assert f"hardware: {logged['hardware']} (as logged by the run)" in card
    config = json.loads((out / "training_config.json").read_text())
    assert not str(config["output"]).startswith("/")  # no machine paths in a shipped config
    assert CONTRACT_PATH.read_text() == contract_before  # no --update-contract: the contract is left alone
    with pytest.raises(LowlightError, match="--force"):
        package(run, out)


def test_package_refuses_an_unfinished_run(tmp_path):
    from keras_lowlight.reports.model_card import package

    with pytest.raises(LowlightError, match="best.keras"):
        package(tmp_path, tmp_path / "out")


def test_existing_package_is_replaced_only_with_force(tmp_path):
    from keras_lowlight.reports.model_card import package

    run = tmp_path / "run"
    run.mkdir()
    (run / "best.keras").write_bytes(b"not reached")
    out = tmp_path / "shipped"
    out.mkdir()
    (out / "MODEL_CARD.md").write_text("previous")
    with pytest.raises(LowlightError, match="already holds a package; give --force"):
        package(run, out)
    assert (out / "MODEL_CARD.md").read_text() == "previous"
    with pytest.raises(LowlightError, match="--update-contract"):  # only for files under saved_models/
        package(run, tmp_path / "elsewhere", update_contract=True)


def test_swap_in_exchanges_the_folders(tmp_path):
    from keras_lowlight.reports.model_card import _swap_in

    old, new = tmp_path / "pkg", tmp_path / ".pkg.partial-1"
    old.mkdir()
    new.mkdir()
    (old / "a").write_text("old")
    (new / "a").write_text("new")
    _swap_in(new, old)
    assert (old / "a").read_text() == "new"


def test_card_text_comes_from_the_run_config():
    from keras_lowlight.reports.model_card import render_card

    class Report:
        def table(self) -> str:
            return "(per-ratio table)"

    row = {"psnr": 30.0, "ssim": 0.9, "baseline_psnr": 25.0, "baseline_ssim": 0.7, "count": 93,
           "file": "model.keras"}
    config = {"preset": "resnet_se_16", "cfa": "bayer", "dataset": "sid/sony", "crop": 256, "batch": 8,
              "learning_rate": 1e-4, "decay_every": 2000, "decay_unit": "epochs", "decay_factor": 0.1,
              "steps_per_epoch": 100}
    metrics = {"dataset": "sid/sony", "dataset_version": "2.0.0", "steps": 4000, "epochs": 40,
               "training_seconds": 3600.0, "training_hardware": "NVIDIA H100 80GB HBM3", "evaluated_on": "a laptop",
               "results": {"keras float32": row}, "files": {"model.keras": 1}}
    card = render_card("resnet_bayer", config, metrics, None, Report())
    training = card.split("## Training")[1].split("## Quality")[0]
    assert "`sid/sony` train split (SID's Sony" in training and "synthetic" not in training
    assert "synthetic data only" not in card.split("## Limits")[1]
    assert "÷10 every 2000 epochs" in card
    assert "hardware: NVIDIA H100 80GB HBM3 (as logged by the run)" in card and "evaluated (numbers below) on: a laptop" in card
    assert "`sid/sony` test split (version 2.0.0)" in card
    card = render_card("x", {**config, "decay_factor": 0.3}, {**metrics, "training_hardware": None}, None, Report())
    assert "×0.3 every" in card and "hardware: not recorded by this run" in card


def _fake_run(run: Path) -> None:
    """A finished run folder (untrained tiny model) without spending time on training."""
    import keras

    from keras_lowlight import models

    run.mkdir()
    keras.utils.set_random_seed(0)
    models.get("tiny_mobile", cfa="bayer").save(run / "best.keras")
    (run / "config.json").write_text(json.dumps({
        "preset": "tiny_mobile", "dataset": "sid/synthetic", "cfa": "bayer", "crop": 32, "batch": 4,
        "learning_rate": 1e-3, "decay_every": 10, "decay_unit": "epochs", "decay_factor": 0.1,
        "steps_per_epoch": 3, "output": "runs/fake"}))
    with open(run / "log.csv", "w", newline="") as f:
        csv.writer(f).writerows([["epoch", "loss"], [0, 0.5]])


def test_a_killed_packager_leaves_the_previous_package_intact(tmp_path):
    """SIGKILL `lowlight package --force` while it writes the new package: the old one is untouched."""
    run, out = tmp_path / "run", tmp_path / "shipped"
    _fake_run(run)
    out.mkdir()
    for name, text in (("MODEL_CARD.md", "previous card"), ("metrics.json", "{}"), ("model.keras", "old")):
        (out / name).write_text(text)
    digest = lambda: {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}
    before = digest()
    writer = subprocess.Popen([sys.executable, "-m", "keras_lowlight.cli", "package", str(run), "-o", str(out),
                               "--force"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        # Mid-write: a new model.keras exists somewhere beside (or in) the package, the rest is not done.
        while not [p for p in tmp_path.rglob("model.keras") if run not in p.parents and p.stat().st_size > 3]:
            assert writer.poll() is None, writer.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "the packager never started writing"
            time.sleep(0.05)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=60)
    finally:
        writer.kill()
    assert writer.returncode == -signal.SIGKILL
    assert digest() == before  # every previous file, byte for byte, and nothing added
    assert list(tmp_path.glob(".shipped.partial-*"))  # the kill landed mid-write (hidden, never shipped)


def test_contract_status_says_whether_the_contract_describes_a_package(tmp_path):
    from keras_lowlight.runtime.contract import REPO as repo
    from keras_lowlight.reports.model_card import contract_status

    shipped = sorted(p.parent for p in (repo / "saved_models").glob("*/model_int8.tflite"))
    assert shipped and "unchanged" in contract_status(shipped[0])
    assert "not concerned" in contract_status(tmp_path)
