"""A wall-clock training budget: `model.fit` stops once a given time has passed.

Why: comparing architectures "at an equal budget" in optimizer steps favours the slow one — a
network 8× heavier gets 8× the compute. The fair question for a model that must train on a given
machine is what each reaches in the same time (`benchmarks/equal_time.py`). The budget runs from
`fit`'s first step and covers everything `fit` does (steps, validation, checkpoints), as a real
training would; the time spent in validation is kept apart so a reader can see its share.

When the budget ends mid-epoch, Keras still validates that partial epoch and calls `on_epoch_end`,
so the best-model checkpoint sees the last weights too.

On a machine shared with other jobs, wall time measures what the others left over: pass
`clock=time.process_time` to budget the CPU time the training process itself got instead.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import keras

from keras_lowlight.runtime.files import write_atomically


class WallClockBudget(keras.callbacks.Callback):
    """Stops training after `seconds` of wall time (or of `clock`'s time) and records the training curve.

    `curve`: one entry per epoch — `seconds` since the first step, optimizer `steps`, and the
    epoch's logs (loss, psnr, val_psnr, …). With `record`, the curve and the totals are also written
    to that JSON file at every epoch end (atomically), so a killed run still leaves its curve.
    `log` is called with each new curve entry (e.g. to print progress). Validation inside `fit`
    is timed apart too (`validation_seconds`) and counts against the budget.
    """

    def __init__(self, seconds: float, record: str | Path | None = None,
                 log: Callable[[dict], None] | None = None, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"`seconds` must be a finite number > 0. Received: seconds={seconds!r}")
        self.seconds = float(seconds)
        self.record = Path(record) if record is not None else None
        self.log = log
        self.clock = clock
        self.start: float | None = None
        self.stopped_by_budget = False
        self.validation_seconds = 0.0
        self._validation_start: float | None = None
        self.curve: list[dict] = []

    def elapsed(self) -> float:
        return 0.0 if self.start is None else self.clock() - self.start

    def steps(self) -> int:
        return int(self.model.optimizer.iterations.numpy())

    def on_train_begin(self, logs=None):
        self.start = self.clock()

    def on_train_batch_end(self, batch, logs=None):
        if not self.stopped_by_budget and self.elapsed() >= self.seconds:
            self.stopped_by_budget = True
            self.model.stop_training = True

    def on_test_begin(self, logs=None):
        if self.start is not None:  # validation inside fit (a standalone evaluate has no budget)
            self._validation_start = self.clock()

    def on_test_end(self, logs=None):
        if self._validation_start is not None:
            self.validation_seconds += self.clock() - self._validation_start
            self._validation_start = None

    def on_epoch_end(self, epoch, logs=None):
        entry = {"epoch": epoch + 1, "seconds": self.elapsed(), "steps": self.steps(),
                 **{k: float(v) for k, v in (logs or {}).items() if hasattr(v, "__float__")}}
        self.curve.append(entry)
        if self.record is not None:
            self.write(self.record)
        if self.log is not None:
            self.log(entry)

    def summary(self) -> dict:
        """Totals and the curve, as written to `record`."""
        return {"budget_seconds": self.seconds, "seconds": self.elapsed(),
                "validation_seconds": self.validation_seconds,
                "steps": self.steps() if self.model is not None else 0,
                "stopped_by_budget": self.stopped_by_budget, "curve": self.curve}

    def write(self, path: str | Path) -> None:
        write_atomically(path, json.dumps(self.summary(), indent=2).encode())
