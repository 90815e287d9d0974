"""The wall-clock budget of `benchmarks/equal_time.py`: `fit` stops on time, mid-epoch, and the
weights reached by then are still validated and kept as `best.keras`."""

from __future__ import annotations

import json

import keras
import pytest

from keras_lowlight.training import train as train_lib
from keras_lowlight.training.budget import WallClockBudget
from scenes import make_scenes


def test_fit_stops_mid_epoch_when_the_budget_ends_and_still_keeps_the_best_model(tmp_path):
    inputs = keras.Input((None, None, 4), name="packed_raw")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same", name="raw")(x), name="tiny_raw")
    budget = WallClockBudget(2.0, record=tmp_path / "budget.json")
    train_lib.train(model, train_scenes=make_scenes(count=2), val_scenes=make_scenes(count=1, seed=1),
                    noise="synthetic", crop=16, batch=2, epochs=1000, steps_per_epoch=100_000,
                    output=str(tmp_path / "run"), callbacks=[budget], verbose=0)

    assert budget.stopped_by_budget
    record = json.loads((tmp_path / "budget.json").read_text())
    assert record["seconds"] >= 2.0
    assert 0 < record["steps"] < 100_000  # stopped inside the first epoch (100k steps take minutes)
    assert len(record["curve"]) == 1 and record["curve"][0]["steps"] == record["steps"]
    assert "val_psnr" in record["curve"][0]  # the partial epoch was validated...
    assert 0 < record["validation_seconds"] < record["seconds"]
    assert (tmp_path / "run" / "best.keras").exists()  # ...and its weights checkpointed


def test_budget_must_be_positive():
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="seconds"):
            WallClockBudget(bad)
