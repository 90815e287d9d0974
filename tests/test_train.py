"""model.fit training: loss goes down, a killed run resumes with its optimizer state, metrics, schedule."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_lowlight import train as train_lib
from keras_lowlight.schedules import StepDecay
from scenes import make_scenes


def tiny_model() -> keras.Model:
    """A stand-in with the project's I/O contract (4-ch packed in, 2× sRGB out)."""
    inputs = keras.Input((None, None, 4), name="packed_raw")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2DTranspose(3, 2, strides=2, name="srgb")(x)
    return keras.Model(inputs, x, name="tiny_test")


def test_step_decay_schedule():
    s = StepDecay(1e-4, decay_steps=10)
    assert float(s(0)) == pytest.approx(1e-4)
    assert float(s(9)) == pytest.approx(1e-4)
    assert float(s(10)) == pytest.approx(1e-5)
    assert float(s(25)) == pytest.approx(1e-6)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(s))
    assert float(restored(20)) == pytest.approx(1e-6)


def test_loss_decreases(tmp_path):
    result = train_lib.train(
        tiny_model(), train_scenes=make_scenes(count=3), val_scenes=make_scenes(count=1, seed=1),
        crop=16, batch=4, epochs=6, steps_per_epoch=15, learning_rate=3e-3, output=str(tmp_path / "run"),
        verbose=0,
    )
    loss = result.history["loss"]
    assert loss[-1] < 0.6 * loss[0], loss
    assert result.history["val_psnr"][-1] > result.history["val_psnr"][0]
    for name in ("best.keras", "last.keras", "log.csv", "config.json"):
        assert (tmp_path / "run" / name).exists(), name
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["cfa"] == "bayer" and config["steps_per_epoch"] == 15


def test_synthetic_noise_trains_a_raw_head_on_the_clean_long_exposure(tmp_path):
    """`noise="synthetic"` feeds model.fit; a model giving back its input's channels gets the RAW target."""
    inputs = keras.Input((None, None, 4), name="packed_raw")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    raw_head = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same", name="raw")(x), name="tiny_raw")
    result = train_lib.train(
        raw_head, train_scenes=make_scenes(count=2), val_scenes=make_scenes(count=1, seed=1), noise="synthetic",
        crop=16, batch=4, epochs=4, steps_per_epoch=10, learning_rate=3e-3, output=str(tmp_path / "run"), verbose=0,
    )
    loss = result.history["loss"]
    assert loss[-1] < 0.7 * loss[0], loss
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["noise"] == "synthetic" and config["target"] == "raw"


class Crash(Exception):
    pass


class CrashAt(keras.callbacks.Callback):
    def __init__(self, epoch: int, batch: int):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            raise Crash()


class RecordStart(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.iterations = int(self.model.optimizer.iterations)
        self.weights = [w.copy() for w in self.model.get_weights()]

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self, "first_epoch"):
            self.first_epoch = epoch


def test_killed_run_resumes_from_backup(tmp_path):
    kwargs = dict(train_scenes=make_scenes(count=2), validation_split=None, crop=16, batch=2, epochs=4,
                  steps_per_epoch=5, learning_rate=1e-3, backup_every=1, output=str(tmp_path / "run"), verbose=0)
    model = tiny_model()
    with pytest.raises(Crash):
        train_lib.train(model, callbacks=[CrashAt(epoch=2, batch=2)], **kwargs)
    steps_done = int(model.optimizer.iterations)
    assert steps_done == 2 * 5 + 3
    saved = [w.copy() for w in model.get_weights()]

    recorder = RecordStart()
    result = train_lib.train(tiny_model(), callbacks=[recorder], **kwargs)
    # The fresh model got the crashed run's weights and optimizer state back, and fit started in
    # the interrupted epoch, not at epoch 0.
    assert recorder.first_epoch == 2
    assert recorder.iterations == steps_done
    for a, b in zip(recorder.weights, saved):
        np.testing.assert_array_equal(a, b)
    assert len(result.history["loss"]) == 2  # epochs 2 and 3 only
    assert int(result.model.optimizer.iterations) == steps_done + 2 * 5


def test_unwritable_output_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(train_lib.TrainingError, match="cannot write"):
        train_lib.train(tiny_model(), train_scenes=make_scenes(count=1), output=str(blocker / "run"))


def test_strategies():
    assert isinstance(train_lib.make_strategy("mirrored"), tf.distribute.MirroredStrategy)
    with pytest.raises(train_lib.TrainingError):
        train_lib.make_strategy("tpu-pod")


def test_mirrored_strategy_fit(tmp_path):
    """The same call scales out: model.fit under MirroredStrategy (one CPU replica here)."""
    with train_lib.make_strategy("mirrored").scope():
        model = tiny_model()
    result = train_lib.train(model, train_scenes=make_scenes(count=2), validation_split=None, crop=16, batch=2,
                             epochs=1, steps_per_epoch=3, strategy="mirrored", output=str(tmp_path / "r"),
                             verbose=0)
    assert np.isfinite(result.history["loss"][0])
    assert isinstance(result.model.distribute_strategy, tf.distribute.MirroredStrategy)


def test_saved_preset_loads_in_a_fresh_process(tmp_path):
    """A `.keras` file must load where no model was built first (custom layers registered on import)."""
    import subprocess
    import sys

    from keras_lowlight import models

    model = models.get("tiny_mobile", cfa="bayer")
    train_lib.compile_model(model, StepDecay(1e-3, 10))  # the compile config references our classes too
    model.save(tmp_path / "m.keras")
    code = ("import keras, keras_lowlight.models; "
            f"m = keras.saving.load_model({str(tmp_path / 'm.keras')!r}); print(m.name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
