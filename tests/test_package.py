"""`lowlight package`: a finished run becomes a model folder whose card states measured numbers and
the run's real configuration; an existing package is replaced only with --force, atomically; the
phone contract changes only with --update-contract."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keras_lowlight.runtime.errors import LowlightError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def packaged_run(tmp_path_factory):
    """A tiny RAW-head run (2 epochs of 3 steps) packaged once, as the shipped models are (int8 from 2
    QAT steps, PTQ beside it): only the first 2 test pairs scored (BM3D costs seconds per frame) and
    one 128-px real-sensor frame, so the whole package is built."""
    from keras_lowlight.runtime.contract import CONTRACT_PATH
    from keras_lowlight.reports.model_card import RealSensorCheck, package
    from keras_lowlight.training.train import train

    tmp = tmp_path_factory.mktemp("package")
    contract_before = CONTRACT_PATH.read_text()
    run = tmp / "run"
    train("tiny_mobile_unet", head="raw", dataset="sid/synthetic", crop=32, batch=4, epochs=2, steps_per_epoch=3,
          validation_steps=2, validation_crop=64, decay_factor=0.5, output=str(run), verbose=0,
          model_overrides={"raw_residual": False}, noise="synthetic")
    out = package(run, tmp / "shipped", logs=[], limit=2, real_sensor=RealSensorCheck(crop=128, ratios=(250.0,)),
                  qat_steps=2)
    assert CONTRACT_PATH.read_text() == contract_before  # no --update-contract: the contract is left alone
    return run, out


@pytest.mark.slow
def test_package_a_short_run(packaged_run):
    run, out = packaged_run
    for name in ("model.keras", "model_int8.tflite", "model_float16.tflite", "model_int8_tile256.tflite",
                 "MODEL_CARD.md", "metrics.json", "training_config.json", "before_after.png",
                 "before_after_real_sensor.png", "validation_curve.png", "evaluation/contact_sheet.png",
                 "real_sensor/per_image.csv"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    logged = json.loads((run / "train_time.json").read_text())
    assert metrics["steps"] == 6 and metrics["training_seconds"] == pytest.approx(logged["seconds"])
    assert metrics["training_hardware"] == logged["hardware"] and logged["segments"][0]["hardware"]
    assert metrics["dataset"] == "sid/synthetic" and metrics["dataset_version"]
    assert metrics["head"] == "raw" and metrics["limit"] == 2
    assert {row["file"] for row in metrics["results"].values()} == set(metrics["files"])
    # QAT ships model_int8*.tflite; the post-training-quantized file is measured beside it.
    assert metrics["results"]["tflite int8"]["file"] == "model_int8.tflite"
    assert metrics["results"]["tflite int8 PTQ"]["file"] == "model_int8_ptq.tflite"
    assert metrics["int8_quantization"].startswith("QAT: 2 steps") and "noise synthetic" in metrics["int8_quantization"]
    assert (out / "model_int8.tflite").read_bytes() != (out / "model_int8_ptq.tflite").read_bytes()
    card = (out / "MODEL_CARD.md").read_text()
    assert f"{metrics['results']['keras float32']['psnr']:.2f}" in card
    assert "int8 files: QAT: 2 steps" in card and "`model_int8_ptq.tflite`" in card
    assert "÷2 every" in card and "÷10" not in card  # the run's decay factor (0.5), not a constant
    assert f"hardware: {logged['hardware']} (as logged by the run)" in card
    assert "ONLY the first 2 test pairs" in card  # a limited package says so
    config = json.loads((out / "training_config.json").read_text())
    assert not str(config["output"]).startswith("/")  # no machine paths in a shipped config
    with pytest.raises(LowlightError, match="--force"):
        from keras_lowlight.reports.model_card import package

        package(run, out)


@pytest.mark.slow
def test_package_card_has_bm3d_real_sensor_and_curve(packaged_run):
    """The card shows BM3D beside amplification-only for every file, margins over both, the
    real-sensor check, the validation curve, and describes a RAW head's baselines truthfully."""
    _, out = packaged_run
    metrics = json.loads((out / "metrics.json").read_text())
    card = (out / "MODEL_CARD.md").read_text()
    keras_row = metrics["results"]["keras float32"]
    for name, row in metrics["results"].items():
        assert row["bm3d_psnr"] == keras_row["bm3d_psnr"] and row["bm3d_s_per_mp"] > 0  # model-independent
        assert (name == "keras float32") != (row.get("bm3d_measured_with") == "keras float32")
        assert row["margin_psnr_vs_bm3d"] == pytest.approx(row["psnr"] - row["bm3d_psnr"])
        assert row["margin_psnr_vs_amplify"] == pytest.approx(row["psnr"] - row["baseline_psnr"])
        quality = card.split("## Quality")[1].split("## Real-sensor")[0]
        line = next(line for line in quality.splitlines() if line.startswith(f"| `{row['file']}` |"))
        for value in (f"{row['psnr']:.2f}", f"{row['bm3d_psnr']:.2f}", f"{row['bm3d_delta_e']:.2f}",
                      f"{row['baseline_delta_e']:.2f}", f"{row['margin_psnr_vs_bm3d']:+.2f} dB"):
            assert value in line, (value, line)
    # Per ratio: the table printed in the card is the one in metrics.json.
    overall = metrics["per_ratio"]["overall"]
    assert overall["psnr"] == pytest.approx(keras_row["psnr"]) and f"{overall['bm3d_ssim']:.4f}" in card
    # A RAW-head model: baselines through the same ISP with the file's colour, no oracle fit; μ-law L1.
    quality = card.split("## Quality")[1]
    assert "file's own white balance and colour matrix" in quality and "oracle colour" not in quality.split("Per ratio")[0]
    assert "amplified input (file colour) | BM3D (file colour)" in card and "μ-law tone-mapped L1" in card
    assert "raw_residual=False" in card
    sensor = metrics["real_sensor"]
    assert sensor["dng"] == "colorchart.dng" and sensor["crop"] == 128 and sensor["ratios"] == [250.0]
    assert set(sensor["results"]) == {"keras float32", "tflite int8"}
    row = sensor["results"]["keras float32"]
    assert f"{row['psnr']:.2f} | {row['ssim']:.4f} | {row['delta_e']:.2f}" in card.split("## Real-sensor check")[1]
    assert "bm3d_psnr" in row and "margin_ssim_vs_bm3d" in row
    validation = metrics["validation"]
    assert validation["curve"] == "validation_curve.png" and validation["last_step"] == 6
    assert "[`validation_curve.png`](validation_curve.png)" in card
    assert f"{validation['best_val_psnr']:.2f} dB at step {validation['best_step']}" in card
    assert set(metrics["pictures"]) == {"test", "real sensor"} and "before_after_real_sensor.png" in card
    from PIL import Image

    with Image.open(out / "before_after_real_sensor.png") as picture:
        assert picture.width == 3 * 360  # before | int8 | reference


@pytest.mark.slow
def test_shipped_model_check_reads_the_package(packaged_run):
    """tests/test_shipped_models.py's check reads what `package` writes: every file's per-pair
    numbers re-measured (its overall = the mean of its pairs)."""
    import card_check

    _, out = packaged_run
    version = json.loads((out / "metrics.json").read_text())["dataset_version"]
    for file in card_check.rows(out):  # a 6-step model need not beat amplification-only
        assert card_check.check_card(out, file, version, subset=1, must_beat_amplify_db=-1e9) == "strict"


@pytest.mark.slow
def test_a_card_measured_on_other_content_of_the_same_version_fails_with_a_clear_message(packaged_run, tmp_path):
    """Two builds of one dataset version can differ (the embedded set is generated): the card
    records the test split's fingerprint and the check names the mismatch instead of failing
    pair by pair on numbers that were right for the other build."""
    import card_check

    _, out = packaged_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset_fingerprint"] == card_check.split_fingerprint_here(metrics["dataset"])
    other = tmp_path / "other"
    shutil.copytree(out, other)
    (other / "metrics.json").write_text(json.dumps({**metrics, "dataset_fingerprint": "0" * 16}))
    with pytest.raises(AssertionError, match="not the one its card was measured on"):
        card_check.check_card(other, "model.keras", metrics["dataset_version"], subset=1, must_beat_amplify_db=-1e9)


def test_validation_curve_flattening(tmp_path):
    from keras_lowlight.reports.model_card import validation_curve

    rows = [{"epoch": str(e), "psnr": str(20 + 5 * (1 - 0.5 ** e)), "val_psnr": str(19 + 5 * (1 - 0.5 ** e))}
            for e in range(12)]
    rows.insert(4, {**rows[4], "val_psnr": "99.0"})  # epoch 4 logged twice (a resumed run): the last one counts
    stats = validation_curve(rows, 100, tmp_path / "curve.png")
    assert stats["best_val_psnr"] < 25
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert stats["best_step"] == 1200 and stats["last_step"] == 1200 and stats["last_quarter_from_step"] == 925
    assert 0 < stats["last_quarter_gain_db"] < 0.1  # flat at the end
    assert validation_curve([{"epoch": "0", "loss": "1"}], 10, tmp_path / "none.png")["curve"] is None


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

    row = {"psnr": 30.0, "ssim": 0.9, "delta_e": 4.0, "baseline_psnr": 25.0, "baseline_ssim": 0.7,
           "baseline_delta_e": 9.0, "count": 93, "file": "model.keras", "margin_psnr_vs_amplify": 5.0,
           "margin_ssim_vs_amplify": 0.2, "margin_delta_e_vs_amplify": -5.0}
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
    # An sRGB-head model: plain L1, baselines with the oracle colour fit (its colour was learned).
    assert "L1 loss on sRGB" in training and "μ-law" not in card
    assert "oracle colour rendering" in card and "file's own white balance" not in card
    assert "+5.00 dB PSNR, +0.200 SSIM, ΔE -5.00** over amplification-only" in card
    card = render_card("x", {**config, "decay_factor": 0.3}, {**metrics, "training_hardware": None}, None, Report())
    assert "×0.3 every" in card and "hardware: not recorded by this run" in card


def test_an_xtrans_card_says_there_is_no_real_xtrans_frame(tmp_path):
    """The real-sensor frame is a Bayer DNG: an X-Trans package states that no real X-Trans frame
    was checked (never a crash, never a silent gap) and points at SID's Fuji archive for retraining."""
    from keras_lowlight.reports.model_card import RealSensorCheck, _real_sensor, render_card

    class Report:
        def table(self) -> str:
            return "(per-ratio table)"

    # cfa decides before anything is read or run: no model, no DNG needed.
    sensor = _real_sensor(tmp_path, None, tmp_path / "none.tflite", "raw", "xtrans",
                          RealSensorCheck(dng=str(tmp_path / "missing.dng")))
    assert set(sensor) == {"skipped"} and "no real X-Trans RAW frame" in sensor["skipped"]
    row = {"psnr": 30.0, "ssim": 0.9, "delta_e": 4.0, "baseline_psnr": 25.0, "baseline_ssim": 0.7,
           "baseline_delta_e": 9.0, "count": 60, "file": "model.keras", "margin_psnr_vs_amplify": 5.0,
           "margin_ssim_vs_amplify": 0.2, "margin_delta_e_vs_amplify": -5.0}
    config = {"preset": "mobile_unet_s", "cfa": "xtrans", "dataset": "sid/synthetic_xtrans", "crop": 64, "batch": 8,
              "learning_rate": 1e-3, "decay_every": 12000, "decay_unit": "steps", "decay_factor": 0.3,
              "steps_per_epoch": 500, "head": "raw"}
    metrics = {"dataset": "sid/synthetic_xtrans", "steps": 500, "epochs": 1, "training_seconds": None,
               "evaluated_on": "here", "head": "raw", "results": {"keras float32": row},
               "files": {"model.keras": 1}, "real_sensor": sensor}
    card = render_card("mobile_xtrans", config, metrics, None, Report())
    real = card.split("## Real-sensor check")[1].split("##")[0]
    assert "Not run: there is no real X-Trans RAW frame" in real and "Bayer DNG" in real
    assert "9-channel packed RAW" in card and "`--dataset sid/fuji`" in card.split("## Limits")[1]


def test_qat_crops_fit_the_embedded_frames():
    """`package --qat-steps` fine-tunes on crops of the run's train split: each CFA's QAT crop must
    fit that set's frames (X-Trans: 252-px mosaics, 84 packed px — a 128 crop failed there) and
    stay a multiple of the mobile model's input multiple."""
    from keras_lowlight import data
    from keras_lowlight.reports.model_card import QAT_CROP

    for cfa, dataset, scale in (("bayer", "sid/synthetic", 2), ("xtrans", "sid/synthetic_xtrans", 3)):
        scene = next(iter(data.load_scenes(dataset, "train").as_numpy_iterator()))
        assert QAT_CROP[cfa] % 16 == 0 and QAT_CROP[cfa] * scale <= min(scene["long_raw"].shape), (cfa, scene["long_raw"].shape)


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
