"""Faults during long work: a NaN loss stops training and keeps the last good checkpoints; a writer
killed mid-checkpoint leaves the previous file intact."""

from __future__ import annotations

import hashlib
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_lowlight.training import train as train_lib
from keras_lowlight.training.checkpoints import NonFiniteLossError
from scenes import make_scenes


def tiny_model() -> keras.Model:
    inputs = keras.Input((None, None, 4), name="packed_raw")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2DTranspose(3, 2, strides=2, name="srgb")(x)
    return keras.Model(inputs, x, name="tiny_test")


class PoisonWeightsAt(keras.callbacks.Callback):
    """Sets every weight to NaN after one step: the next step's loss is NaN."""

    def __init__(self, epoch: int, batch: int):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            self.model.set_weights([np.full_like(w, np.nan) for w in self.model.get_weights()])


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in (".keras", ".h5", ".json")
            and p.name != "config.json"}


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoints(tmp_path):
    run = tmp_path / "run"
    kwargs = dict(train_scenes=make_scenes(count=2), val_scenes=make_scenes(count=1, seed=1), crop=16, batch=2,
                  steps_per_epoch=4, learning_rate=1e-3, output=str(run), verbose=0)
    train_lib.train(tiny_model(), epochs=2, **kwargs)  # a good run: best.keras, last.keras, backup/
    before = _digest(run)
    assert {"best.keras", "last.keras", "backup/latest.weights.h5"} <= set(before)

    with pytest.raises(NonFiniteLossError, match=r"the loss became nan at epoch 3, step 3.*kept the last good "
                                                 r"best.keras, last.keras, backup"):
        train_lib.train(tiny_model(), epochs=4, backup_every=1, callbacks=[PoisonWeightsAt(epoch=2, batch=1)],
                        **kwargs)
    # Step 2 of epoch 3 was good and backed up (backup_every=1); nothing NaN reached any file.
    after = _digest(run)
    assert after["best.keras"] == before["best.keras"] and after["last.keras"] == before["last.keras"]
    restored = tiny_model()
    restored.load_weights(run / "backup" / "latest.weights.h5")
    assert all(np.isfinite(w).all() for w in restored.get_weights())
    best = keras.saving.load_model(run / "best.keras", compile=False)
    assert all(np.isfinite(w).all() for w in best.get_weights())
    assert not list(run.rglob(".*.tmp*"))  # no temporary files left behind
    assert issubclass(NonFiniteLossError, train_lib.LowlightError)  # `lowlight train`: one line, exit 2




WRITER = """
import builtins, io, sys, time
import keras
from keras_lowlight.training.checkpoints import save_model_atomically

class PausingFile(io.BufferedIOBase):
    # The temporary archive Keras writes, paused for good once 1 MB is on disk: the kill lands
    # mid-save, deterministically, whatever the machine's speed.
    def __init__(self, raw):
        self.raw, self.written = raw, 0
    def write(self, data):
        count = self.raw.write(data)
        self.written += count
        if self.written > 2**20:
            self.raw.flush()
            print("mid-save", flush=True)
            time.sleep(600)
        return count
    def seek(self, *args):
        return self.raw.seek(*args)
    def tell(self):
        return self.raw.tell()
    def flush(self):
        return self.raw.flush()
    def close(self):
        self.raw.close()
        super().close()
    def seekable(self):
        return True
    def writable(self):
        return True

real_open = builtins.open
def pausing_open(file, mode="r", *args, **kwargs):
    handle = real_open(file, mode, *args, **kwargs)
    return PausingFile(handle) if str(file).endswith(".tmp.keras") and "w" in mode else handle
builtins.open = pausing_open   # Keras opens the .keras path it is given with open(path, "wb")

inputs = keras.Input((None, None, 4))
x = inputs
for _ in range(6):
    x = keras.layers.Conv2D(256, 3, padding="same")(x)   # ~3.5 M parameters: ~14 MB to write
model = keras.Model(inputs, keras.layers.Conv2D(3, 1)(x))
save_model_atomically(model, sys.argv[1])
"""


def test_a_writer_killed_mid_save_leaves_the_previous_checkpoint_intact(tmp_path):
    """SIGKILL while Keras writes the archive: best.keras is the previous file, byte for byte, and the
    partial archive is a hidden temporary file that nothing loads. The writer pauses itself after
    1 MB and says so, so the kill lands mid-write on any machine (a loop polling for the temporary
    file raced with the rename and failed on CI's loaded cores)."""
    target = tmp_path / "best.keras"
    from keras_lowlight.training.checkpoints import save_model_atomically

    save_model_atomically(tiny_model(), target)
    original = target.read_bytes()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([writer.stdout], [], [], 300)  # mid-save, dead, or stuck: never hang CI
        line = writer.stdout.readline().strip() if ready else "(nothing within 300 s)"
        assert line == "mid-save", f"the writer did not reach its save: {writer.stderr.read()[-2000:]}"
        partial = list(tmp_path.glob(".best.keras.*"))
        assert len(partial) == 1 and partial[0].stat().st_size > 2**20
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert target.read_bytes() == original
    keras.saving.load_model(target, compile=False)  # still a loadable model
    leftovers = [p for p in tmp_path.iterdir() if p.name != "best.keras"]
    assert leftovers == partial  # the interrupted archive: hidden, never renamed over best.keras


@pytest.mark.parametrize("field,value", [
    ("steps_per_epoch", 0), ("decay_every", 0), ("batch", -1), ("learning_rate", float("nan")),
    ("learning_rate", float("inf")), ("crop", 2.5), ("backup_every", 0),
])
def test_train_api_refuses_what_the_cli_refuses(tmp_path, field, value):
    with pytest.raises(train_lib.TrainingError, match=field):  # before any model, data or folder
        train_lib.train("tiny_mobile", output=str(tmp_path / "run"), **{field: value})
    assert not (tmp_path / "run").exists()


def test_a_resumed_run_does_not_overwrite_a_better_best_model(tmp_path):
    """After a restart the first epoch must beat the best value of the run so far, not −∞."""
    from keras_lowlight.training.checkpoints import BestModelCheckpoint

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = tmp_path / "best.keras"
    first = BestModelCheckpoint(path, monitor="val_psnr")
    first.set_model(model)
    first.on_epoch_end(0, {"val_psnr": 30.0})
    saved = path.read_bytes()
    resumed = BestModelCheckpoint(path, monitor="val_psnr")  # a new process, same run folder
    resumed.set_model(model)
    model.set_weights([w + 1 for w in model.get_weights()])
    resumed.on_epoch_end(1, {"val_psnr": 29.0})  # worse: best.keras stays as it was
    assert path.read_bytes() == saved and resumed.best == 30.0
    resumed.on_epoch_end(2, {"val_psnr": 31.0})  # better: replaced
    assert path.read_bytes() != saved and resumed.best == 31.0
