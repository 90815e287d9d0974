"""`lowlight package`: a finished run becomes a model folder whose card states measured numbers."""

from __future__ import annotations

import json

import pytest

from keras_lowlight.errors import LowlightError


@pytest.mark.slow
def test_package_a_short_run(tmp_path):
    from keras_lowlight import models
    from keras_lowlight.contract import CONTRACT_PATH
    from keras_lowlight.model_card import package
    from keras_lowlight.train import train

    contract_before = CONTRACT_PATH.read_text()
    run = tmp_path / "run"
    train(models.get("tiny_mobile", cfa="bayer"), dataset="sid/synthetic", crop=32, batch=4, epochs=1,
          steps_per_epoch=3, output=str(run), verbose=0)
    out = package(run, tmp_path / "shipped", logs=[])
    for name in ("model.keras", "model_int8.tflite", "model_float16.tflite", "model_int8_tile256.tflite",
                 "MODEL_CARD.md", "metrics.json", "training_config.json", "before_after.png"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 3 and metrics["training_seconds"] > 0
    card = (out / "MODEL_CARD.md").read_text()
    assert f"{metrics['results']['keras float32']['psnr']:.2f}" in card
    config = json.loads((out / "training_config.json").read_text())
    assert not str(config["output"]).startswith("/")  # no machine paths in a shipped config
    assert CONTRACT_PATH.read_text() == contract_before  # packaging elsewhere leaves the contract alone


def test_package_refuses_an_unfinished_run(tmp_path):
    from keras_lowlight.model_card import package

    with pytest.raises(LowlightError, match="best.keras"):
        package(tmp_path, tmp_path / "out")
