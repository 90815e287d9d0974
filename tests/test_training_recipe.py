"""The committed training recipes: valid TrainConfig fields, and `lowlight train --config` merging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keras_lowlight import models
from keras_lowlight.training import train as train_lib

REPO = Path(__file__).resolve().parents[1]
RECIPES = sorted((REPO / "configs").glob("*.json"))


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_committed_recipe_is_a_valid_resumable_run(path):
    config = train_lib.read_config(path)
    assert config["preset"] in models.PRESETS
    assert config["noise"] == "synthetic"  # fresh noise every step, not the 138 fixed pairs
    assert config["validation_split"]  # validation PSNR every epoch
    assert isinstance(config["backup_every"], int) and config["backup_every"] <= 500  # kill -9 loses little
    assert config["output"].startswith("runs/")  # ignored folder, no machine path
    train_lib.TrainConfig(**config)  # every key is a field


def test_read_config_refuses_unknown_fields_and_bad_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"preset": "tiny", "learning_rte": 1e-3, "_note": "comments are fine"}))
    with pytest.raises(train_lib.TrainingError, match="unknown field.*learning_rte"):
        train_lib.read_config(bad)
    bad.write_text("{not json")
    with pytest.raises(train_lib.TrainingError, match="not valid JSON"):
        train_lib.read_config(bad)
    with pytest.raises(train_lib.TrainingError, match="cannot read"):
        train_lib.read_config(tmp_path / "missing.json")


def test_cli_config_with_flags_overriding_it(tmp_path, monkeypatch):
    from keras_lowlight.cli import main

    seen = {}

    class Result:
        seconds, output = 0.0, tmp_path

    def fake_train(preset, **kwargs):
        seen.update(kwargs, preset=preset)
        return Result()

    monkeypatch.setattr(train_lib, "train", fake_train)
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"preset": "tiny_mobile_unet", "crop": 64, "learning_rate": 5e-4,
                                  "noise": "synthetic", "backup_every": 100}))
    assert main(["train", "--config", str(recipe), "--crop", "32", "-o", str(tmp_path / "run")]) == 0
    assert seen["preset"] == "tiny_mobile_unet" and seen["noise"] == "synthetic"
    assert seen["learning_rate"] == 5e-4 and seen["backup_every"] == 100  # from the file
    assert seen["crop"] == 32 and seen["output"] == str(tmp_path / "run")  # the flags win
    assert seen["batch"] == 8  # neither: the CLI default
