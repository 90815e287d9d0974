"""Checkpoints that survive faults during long training.

* Every checkpoint is written to a temporary file beside its target and renamed over it, so a run
  killed while writing (power cut, OOM killer, Ctrl-C twice) leaves the previous checkpoint intact:
  `best.keras`, `last.keras` and `backup/` never hold half a file. (Keras writes them in place.)
* A loss that turns NaN or infinite stops training at once with a clear error, before any callback
  could save the poisoned weights: the last good `best.keras`, `last.keras` and `backup/` stay as
  they were, and the run resumes from the last good backup.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import keras

from keras_lowlight.runtime.errors import LowlightError
from keras_lowlight.runtime.files import write_atomically


class NonFiniteLossError(LowlightError):
    """The training loss became NaN or infinite."""


def _temporary_sibling(path: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.unlink(name)  # Keras refuses to overwrite without asking in some versions; give it a fresh name
    return Path(name)


def _save_atomically(path: str | os.PathLike, suffix: str, save) -> Path:
    """`save(tmp)` to a temporary sibling of `path`, then one rename: a writer killed mid-save
    leaves the previous file intact (and at worst a hidden temporary file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_sibling(path, suffix)
    try:
        save(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def save_model_atomically(model: keras.Model, path: str | os.PathLike) -> Path:
    """`model.save(path)` through a temporary `.keras` file in the same folder and a rename."""
    return _save_atomically(path, ".tmp.keras", model.save)


def save_weights_atomically(model: keras.Model, path: str | os.PathLike) -> Path:
    """`model.save_weights(path)` through a temporary `.weights.h5` file and a rename."""
    return _save_atomically(path, ".tmp.weights.h5", model.save_weights)


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Like `keras.callbacks.TerminateOnNaN`, but it raises instead of finishing the epoch: with
    TerminateOnNaN the epoch-end callbacks still run and BackupAndRestore saves the NaN weights.
    Put it first in the callback list so it acts before any checkpointing callback."""

    def __init__(self, output: str | os.PathLike | None = None):
        super().__init__()
        self.output = Path(output) if output is not None else None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if not math.isfinite(loss):
            kept = ""
            if self.output is not None:
                names = [n for n in ("best.keras", "last.keras", "backup") if (self.output / n).exists()]
                kept = (f"; kept the last good {', '.join(names)} in {self.output}" if names
                        else "; nothing was saved")
            raise NonFiniteLossError(
                f"training stopped: the loss became {loss} at epoch {self.epoch + 1}, step {batch + 1} "
                f"(learning rate too high, or bad data){kept}"
            )


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` whose weights and metadata are each replaced atomically, and which also
    backs up at every epoch end.

    Keras records the epoch a batch-level backup belongs to, and a resumed run restarts that
    epoch from its first step; its `_current_epoch` only advances at the epoch end, after the
    last batch's backup. So without a backup at the epoch end, a run stopped (or finished) right
    after an epoch repeats that whole epoch when resumed — extra steps the log cannot explain."""

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.save_freq != "epoch":  # "epoch" already saved in super()
            self._save_model()

    def _save_model(self):
        Path(self.backup_dir).mkdir(parents=True, exist_ok=True)
        save_weights_atomically(self.model, self._weights_path)
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        write_atomically(self._training_metadata_path, json.dumps(metadata).encode())


class BestModelCheckpoint(keras.callbacks.Callback):
    """Saves the model when `monitor` improves (mode "max" or "min"), atomically; a NaN metric is
    never an improvement.

    The best value so far is kept beside the model (`<name>.json`) and read back when a run
    resumes: otherwise the first epoch after a restart would always "improve" on −∞ and
    overwrite a better `best.keras` with a worse one."""

    def __init__(self, path: str | os.PathLike, monitor: str, mode: str = "max"):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.path, self.monitor, self.mode = Path(path), monitor, mode
        self.best = -math.inf if mode == "max" else math.inf
        self.record = self.path.with_suffix(".json")
        if self.path.exists() and self.record.exists():
            try:
                saved = json.loads(self.record.read_text())
                if saved.get("monitor") == monitor and math.isfinite(float(saved["value"])):
                    self.best = float(saved["value"])
            except (ValueError, KeyError, TypeError):
                pass  # an unreadable record: start from scratch, as before

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        value = float(value)
        if (value > self.best) if self.mode == "max" else (value < self.best):
            self.best = value
            save_model_atomically(self.model, self.path)
            record = {"monitor": self.monitor, "value": value, "epoch": int(epoch)}
            write_atomically(self.record, json.dumps(record).encode())
