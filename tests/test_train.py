"""model.fit training: loss goes down, a killed run resumes with its optimizer state, metrics, schedule."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_lowlight.training import train as train_lib
from keras_lowlight.models.schedules import StepDecay
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


# A training run in its own process, so it can be killed for real. It logs every batch (epoch,
# batch, optimizer step, loss) to losses_<tag>.jsonl and its weights at fit start; with
# `kill_at=E,B` it saves its weights after batch B of epoch E (after BackupAndRestore ran), says
# READY and waits to be SIGKILLed mid-epoch.
_TRAIN_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import keras, numpy as np
from keras_lowlight.training import train as train_lib
from scenes import make_scenes
from test_train import tiny_model

out, tag, kill_at = sys.argv[2], sys.argv[3], sys.argv[4]
kill_epoch, kill_batch = map(int, kill_at.split(",")) if kill_at != "-" else (-1, -1)

class Probe(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        np.savez(f"{out}/start_{tag}.npz", *self.model.get_weights())
        self.epoch = None
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations)
        with open(f"{out}/losses_{tag}.jsonl", "a") as f:
            f.write(json.dumps({"epoch": self.epoch, "batch": batch, "step": step, "loss": float(logs["loss"])}) + "\\n")
        if (self.epoch, batch) == (kill_epoch, kill_batch):
            np.savez(f"{out}/at_kill.npz", *self.model.get_weights())
            print("READY", flush=True)
            time.sleep(600)

keras.utils.set_random_seed(0)
train_lib.train(tiny_model(), train_scenes=make_scenes(count=2), validation_split=None, crop=16, batch=2,
                epochs=3, steps_per_epoch=5, learning_rate=1e-2, backup_every=1, output=f"{out}/run",
                verbose=0, callbacks=[Probe()])
"""


def _losses(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_killed_with_sigkill_mid_epoch_resumes_from_its_backup(tmp_path):
    """kill -9 of a training process in the middle of epoch 1; a new process resumes in epoch 1
    with exactly the weights and optimizer step of the last backup, and the loss curve goes on
    from where it was instead of starting over."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    tests = str(Path(__file__).resolve().parent)
    command = [sys.executable, "-c", _TRAIN_CHILD, tests, str(tmp_path)]
    child = subprocess.Popen([*command, "first", "1,2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in child.stdout:  # blocks until the child is in the middle of epoch 1
            if line.startswith("READY"):
                break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        child.kill()
    assert child.returncode == -signal.SIGKILL, child.stderr.read()[-3000:]
    before = _losses(tmp_path / "losses_first.jsonl")
    assert [(r["epoch"], r["batch"]) for r in before][-1] == (1, 2) and before[-1]["step"] == 5 + 3

    resumed = subprocess.run([*command, "resumed", "-"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = _losses(tmp_path / "losses_resumed.jsonl")
    # Weights and optimizer step of the backup written at the killed batch, bit for bit.
    at_kill, start = np.load(tmp_path / "at_kill.npz"), np.load(tmp_path / "start_resumed.npz")
    assert len(at_kill.files) == len(start.files) > 0
    for name in at_kill.files:
        np.testing.assert_array_equal(start[name], at_kill[name])
    # fit restarted in the interrupted epoch (1), at the backup's step, and ran epochs 1 and 2.
    assert (after[0]["epoch"], after[0]["step"]) == (1, before[-1]["step"] + 1)
    assert [r["epoch"] for r in after] == [1] * 5 + [2] * 5 and after[-1]["step"] == 8 + 10
    # The loss curve continues: the first resumed batch is near the last ones before the kill,
    # far below where training started (a restart from scratch would repeat before[0]).
    late = np.mean([r["loss"] for r in before[-3:]])
    assert after[0]["loss"] < 0.75 * before[0]["loss"], (before, after)
    assert abs(after[0]["loss"] - late) < 0.5 * late, (before, after)
    # The CSV log holds each finished epoch once: 0 from the killed process, 1 and 2 resumed.
    epochs = [line.split(",")[0] for line in (tmp_path / "run" / "log.csv").read_text().splitlines()[1:]]
    assert epochs == ["0", "1", "2"], epochs


def test_unwritable_output_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(train_lib.TrainingError, match="cannot write"):
        train_lib.train(tiny_model(), train_scenes=make_scenes(count=1), output=str(blocker / "run"))


def test_strategies():
    assert isinstance(train_lib.make_strategy("mirrored"), tf.distribute.MirroredStrategy)
    with pytest.raises(train_lib.TrainingError):
        train_lib.make_strategy("tpu-pod")


def test_mirrored_run_equals_the_single_device_run(tmp_path):
    """model.fit under MirroredStrategy (one CPU replica here) takes the same steps as without it:
    same seed, data and steps give the same weights, up to float reduction order.

    shuffle_buffer=1 keeps the batch order a pure function of the seed: with a real shuffle
    buffer the mirrored run sees its batches in another order (measured: tf.data reshuffles on
    every iteration of the dataset, and Keras's distributed path starts a different iteration
    than the single-device one), which is a data-order difference, not a distribution bug."""
    runs = {}
    for strategy in ("default", "mirrored"):
        keras.utils.set_random_seed(0)
        with train_lib.make_strategy(strategy).scope():
            model = tiny_model()
        initial = [w.copy() for w in model.get_weights()]
        result = train_lib.train(model, train_scenes=make_scenes(count=2), validation_split=None, crop=16, batch=2,
                                 shuffle_buffer=1, epochs=1, steps_per_epoch=4, learning_rate=1e-2, strategy=strategy,
                                 output=str(tmp_path / strategy), verbose=0)
        runs[strategy] = (initial, [w.copy() for w in result.model.get_weights()], result)
    assert isinstance(runs["mirrored"][2].model.distribute_strategy, tf.distribute.MirroredStrategy)
    for a, b in zip(runs["default"][0], runs["mirrored"][0]):
        np.testing.assert_array_equal(a, b)  # same start
    moved = max(float(np.abs(a - b).max()) for a, b in zip(runs["default"][0], runs["default"][1]))
    assert moved > 1e-3  # training changed the weights, so equality below means something
    for a, b in zip(runs["default"][1], runs["mirrored"][1]):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)
    assert runs["mirrored"][2].history["loss"] == pytest.approx(runs["default"][2].history["loss"], rel=1e-5)


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


def test_a_run_resumed_after_a_finished_epoch_does_not_repeat_it(tmp_path):
    """Keras's batch-level backup belongs to the epoch it was written in; without a backup at the
    epoch end, resuming a run that stopped right after an epoch repeated that whole epoch."""
    common = dict(train_scenes=make_scenes(count=1), validation_split=None, crop=16, batch=2, steps_per_epoch=3,
                  backup_every=1, output=str(tmp_path / "run"), verbose=0)
    train_lib.train(tiny_model(), epochs=1, **common)
    result = train_lib.train(tiny_model(), epochs=2, **common)  # one more epoch: 3 steps, not 6
    assert int(result.model.optimizer.iterations.numpy()) == 6
    epochs = [line.split(",")[0] for line in (tmp_path / "run" / "log.csv").read_text().splitlines()[1:]]
    assert epochs == ["0", "1"], epochs
