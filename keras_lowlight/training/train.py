"""Training with `model.fit`: L1 + Adam, step-decay learning rate, resumable, distributable.

From a notebook, three lines:

```python
from keras_lowlight.training.train import train
result = train("resnet_se_16", dataset="sid/synthetic", epochs=20, steps_per_epoch=100)
result.model.predict(...)
```

The run folder holds everything needed to look at and to resume it: `backup/` (weights,
optimizer state and epoch, written every `backup_every` steps — a killed run restarts where it
stopped), `best.keras` (best validation PSNR), `last.keras`, `log.csv`, `tensorboard/` (scalars
plus input / output / target images) and `config.json` (the exact arguments).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_lowlight import data as data_lib
from keras_lowlight.models import metrics
from keras_lowlight.models.schedules import StepDecay
from keras_lowlight.training.checkpoints import (AtomicBackupAndRestore, BestModelCheckpoint, StopOnNonFiniteLoss,
                                        save_model_atomically)
from keras_lowlight.runtime.errors import LowlightError

STRATEGIES = ("default", "mirrored", "multi-worker")


class TrainingError(LowlightError):
    """Bad training arguments or an unusable output folder."""


def compile_model(model: keras.Model, learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-4):
    """L1 loss, Adam, PSNR/SSIM metrics (data_range 1 on clipped outputs) — the paper's setup.

    A RAW-head model trains with L1 in a μ-law tone-mapped space instead (`losses.ToneMappedL1`,
    so shadows count); its PSNR/SSIM are then on the linear packed RAW, not on sRGB.
    """
    from keras_lowlight.models.losses import loss_for
    from keras_lowlight.models import head_of

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=loss_for(head_of(model)),
        metrics=[metrics.PeakSignalNoiseRatio(), metrics.StructuralSimilarity()],
    )
    return model


class ImageSummary(keras.callbacks.Callback):
    """Writes input (amplified, crudely rendered) / output / target images to TensorBoard."""

    def __init__(self, log_dir: str | Path, batch: tuple[tf.Tensor, tf.Tensor], max_images: int = 3):
        super().__init__()
        self.writer = tf.summary.create_file_writer(str(Path(log_dir) / "images"))
        self.inputs, self.targets = batch[0][:max_images], batch[1][:max_images]

    def on_epoch_end(self, epoch, logs=None):
        from keras_lowlight.evaluation.baseline import packed_to_rgb

        outputs = tf.clip_by_value(self.model(self.inputs, training=False), 0.0, 1.0)
        preview = packed_to_rgb(self.inputs.numpy()) ** (1 / 2.2)
        targets = self.targets
        if outputs.shape[-1] != 3:  # RAW head: packed RAW previews, crudely rendered like the input
            outputs = packed_to_rgb(outputs.numpy()) ** (1 / 2.2)
            targets = packed_to_rgb(np.clip(targets.numpy(), 0.0, 1.0)) ** (1 / 2.2)
        with self.writer.as_default():
            tf.summary.image("input_amplified", preview, step=epoch)
            tf.summary.image("output", outputs, step=epoch)
            tf.summary.image("target", targets, step=epoch)
        self.writer.flush()


def make_strategy(name: str = "default") -> tf.distribute.Strategy:
    """`default` (one device), `mirrored` (all local GPUs), `multi-worker` (from TF_CONFIG)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise TrainingError("--strategy multi-worker needs the TF_CONFIG environment variable")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise TrainingError(f"unknown strategy {name!r}; choose from {STRATEGIES}")


@dataclass
class TrainConfig:
    """Everything that defines a run; written to `config.json` beside the model."""

    preset: str = "resnet_se_16"
    head: str = "srgb"  # "raw": the model outputs the clean packed RAW (trained against the long exposure)
    dataset: str = "sid/synthetic"
    cfa: str | None = None
    crop: int = 256
    batch: int = 8
    epochs: int = 4000
    steps_per_epoch: int | None = None
    learning_rate: float = 1e-4
    decay_every: int = 2000
    decay_unit: str = "epochs"  # or "steps"
    decay_factor: float = 0.1
    validation_split: str | None = "validation"
    validation_crop: int | None = None
    validation_steps: int | None = None
    crops_per_pair: int = 1
    shuffle_buffer: int = 64
    backup_every: int | str = "epoch"
    strategy: str = "default"
    output: str = "runs/train"
    data_dir: str | None = None
    manual_dir: str | None = None
    seed: int | None = 0
    model_overrides: dict = field(default_factory=dict)
    noise: str = "recorded"  # or "synthetic": fresh noise on the clean long exposure every step
    target: str | None = None  # "srgb" | "raw"; None: the head's (raw head → the packed clean long exposure)
    # Stop after this many epochs without a better validation PSNR (None: run all epochs). The
    # count restarts when a killed run resumes (EarlyStopping keeps no state in the backup).
    early_stop_patience: int | None = None


def read_config(path: str | os.PathLike) -> dict:
    """A committed training recipe — a JSON object of `TrainConfig` fields, keys starting with
    `_` being comments — as keyword arguments of `train`. A run's own `config.json` reads back
    too, so any run can be repeated from its folder."""
    from dataclasses import fields

    try:
        raw = json.loads(Path(path).read_text())
    except OSError as e:
        raise TrainingError(f"cannot read training config {path}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise TrainingError(f"training config {path} is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise TrainingError(f"training config {path} must hold a JSON object of TrainConfig fields")
    known = {f.name for f in fields(TrainConfig)}
    values = {k: v for k, v in raw.items() if not k.startswith("_")}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TrainingError(f"training config {path}: unknown field(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(known))}")
    return values


@dataclass
class TrainResult:
    model: keras.Model
    history: dict
    output: Path
    seconds: float


def _check_numbers(cfg: TrainConfig) -> None:
    """The Python API's twin of the CLI's parse-time checks: 0 or NaN is never silently replaced."""
    import math
    import numbers

    positive = ("crop", "batch", "epochs", "steps_per_epoch", "decay_every", "validation_crop", "validation_steps",
                "crops_per_pair", "shuffle_buffer", "early_stop_patience")
    for name in positive:
        value = getattr(cfg, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1):
            raise TrainingError(f"{name} must be a positive integer, got {value!r}")
    for name in ("learning_rate", "decay_factor"):
        value = getattr(cfg, name)
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and value > 0):
            raise TrainingError(f"{name} must be a finite number > 0, got {value!r}")
    if cfg.backup_every != "epoch" and not (isinstance(cfg.backup_every, numbers.Integral) and cfg.backup_every >= 1):
        raise TrainingError(f"backup_every must be 'epoch' or a positive number of steps, got {cfg.backup_every!r}")


def _decay_steps(cfg: TrainConfig, steps_per_epoch: int) -> int:
    if cfg.decay_unit == "steps":
        return cfg.decay_every
    if cfg.decay_unit == "epochs":
        return cfg.decay_every * steps_per_epoch
    raise TrainingError(f"decay_unit must be 'epochs' or 'steps', got {cfg.decay_unit!r}")


def _count_pairs(scenes: tf.data.Dataset) -> int:
    return int(scenes.map(lambda s: tf.shape(s["short"]["ratio"])[0]).reduce(0, lambda a, n: a + n))


def _prepare_output(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise TrainingError(f"cannot write to output folder {path}: {e.strerror or e}") from None


def train(preset: str | keras.Model = "resnet_se_16", *, callbacks: list | None = None, verbose: int | str = "auto",
          train_scenes: tf.data.Dataset | None = None, val_scenes: tf.data.Dataset | None = None,
          **kwargs) -> TrainResult:
    """Trains a preset (or a given Keras model) on a `sid/*` dataset with `model.fit`.

    Keyword arguments are the fields of `TrainConfig`. Runs resume from `output/backup` when
    it exists (delete it to start over). `train_scenes` / `val_scenes` replace the TFDS splits
    with already loaded scene datasets of the same schema.
    """
    if not isinstance(preset, str):
        from keras_lowlight.models import head_of

        kwargs["head"] = head_of(preset)
    cfg = TrainConfig(preset=preset if isinstance(preset, str) else preset.name, **kwargs)
    if cfg.head not in ("srgb", "raw"):
        raise TrainingError(f"head must be 'srgb' or 'raw', got {cfg.head!r}")
    _check_numbers(cfg)
    output = Path(cfg.output)
    _prepare_output(output)
    if cfg.seed is not None:
        keras.utils.set_random_seed(cfg.seed)
    # A model built by the caller keeps the strategy it was built under (variables cannot move).
    strategy = make_strategy(cfg.strategy) if isinstance(preset, str) else preset.distribute_strategy

    def scenes_of(split: str, given: tf.data.Dataset | None, shuffle: bool) -> tf.data.Dataset:
        if given is not None:
            return given
        return data_lib.load_scenes(cfg.dataset, split, data_dir=cfg.data_dir, manual_dir=cfg.manual_dir,
                                    shuffle_files=shuffle)

    scenes = scenes_of("train", train_scenes, shuffle=True)
    pattern = data_lib.peek_cfa_pattern(scenes)
    cfa_kind = "bayer" if len(pattern) == 4 else "xtrans"
    if cfg.cfa is not None and cfg.cfa != cfa_kind:
        raise TrainingError(f"{cfg.dataset} holds {cfa_kind} frames, but --cfa {cfg.cfa} was asked for")
    with strategy.scope():
        if isinstance(preset, str):
            from keras_lowlight import models

            model = models.get(preset, cfa=cfa_kind, head=cfg.head, **cfg.model_overrides)
        else:
            model = preset
    # The RAW head learns the clean long exposure, packed like the input (the dataset's `long_raw`).
    target = cfg.target or cfg.head
    if target != cfg.head:
        raise TrainingError(f"a {cfg.head}-head model cannot learn the {target!r} target")
    if cfg.noise not in data_lib.NOISE_MODES:
        raise TrainingError(f"noise must be one of {data_lib.NOISE_MODES}, got {cfg.noise!r}")
    if target not in data_lib.TARGETS:
        raise TrainingError(f"target must be one of {data_lib.TARGETS}, got {target!r}")
    train_ds = data_lib.make_dataset(
        scenes=scenes, crop=cfg.crop, batch=cfg.batch, training=True,
        shuffle_buffer=cfg.shuffle_buffer, crops_per_pair=cfg.crops_per_pair,
        noise=cfg.noise, target=target, seed=cfg.seed,
    )
    steps_per_epoch = cfg.steps_per_epoch or max(1, _count_pairs(scenes) * cfg.crops_per_pair // cfg.batch)
    val_ds, validation_steps = None, cfg.validation_steps
    if cfg.validation_split or val_scenes is not None:
        val_batch = cfg.batch if cfg.validation_crop else 1
        val_scene_ds = scenes_of(cfg.validation_split, val_scenes, shuffle=False)
        # Validation always scores the recorded short frames: fixed, comparable across runs.
        val_ds = data_lib.make_dataset(
            scenes=val_scene_ds, cfa=cfa_kind, crop=cfg.validation_crop, batch=val_batch, training=False,
            target=target, seed=0,
        )
        # Tell Keras the exact size of the (finite) validation set instead of letting it run dry.
        validation_steps = validation_steps or -(-_count_pairs(val_scene_ds) // val_batch)

    with strategy.scope():
        schedule = StepDecay(cfg.learning_rate, _decay_steps(cfg, steps_per_epoch), cfg.decay_factor)
        compile_model(model, schedule)

    (output / "config.json").write_text(json.dumps({**asdict(cfg), "cfa": cfa_kind, "target": target,
                                                    "steps_per_epoch": steps_per_epoch}, indent=2))
    monitor = "val_psnr" if val_ds is not None else "psnr"
    sample_batch = next(iter((val_ds or train_ds).take(1)))
    all_callbacks = [
        StopOnNonFiniteLoss(output),  # first: raises before anything saves NaN weights
        AtomicBackupAndRestore(str(output / "backup"), save_freq=cfg.backup_every, delete_checkpoint=False),
        BestModelCheckpoint(output / "best.keras", monitor=monitor, mode="max"),
        keras.callbacks.CSVLogger(str(output / "log.csv"), append=True),
        keras.callbacks.TensorBoard(str(output / "tensorboard"), write_graph=False),
        ImageSummary(output / "tensorboard", sample_batch),
        *([keras.callbacks.EarlyStopping(monitor=monitor, mode="max", patience=cfg.early_stop_patience, verbose=1)]
          if cfg.early_stop_patience else []),
        *(callbacks or []),
    ]
    start = time.monotonic()
    warnings.filterwarnings("ignore", message="`shuffle=True` was passed")  # tf.data shuffles already
    history = model.fit(
        train_ds,
        epochs=cfg.epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=val_ds,
        validation_steps=validation_steps,
        callbacks=all_callbacks,
        verbose=verbose,
    )
    seconds = time.monotonic() - start
    save_model_atomically(model, output / "last.keras")
    # Cumulative over resumed segments, so a model card can state the run's real cost.
    # Each segment logs the hardware it ran on, so the card states where the model was trained
    # (not where it was packaged).
    from keras_lowlight.training.hardware import hardware

    timing = output / "train_time.json"
    record = json.loads(timing.read_text()) if timing.exists() else {"seconds": 0.0}
    segments = [*record.get("segments", []), {"seconds": seconds, "hardware": hardware(),
                                               "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}]
    timing.write_text(json.dumps({
        "seconds": record["seconds"] + seconds,
        "steps": int(np.asarray(model.optimizer.iterations.numpy())),
        "hardware": " + ".join(dict.fromkeys(s["hardware"] for s in segments)),
        "segments": segments,
    }, indent=2))
    return TrainResult(model=model, history=history.history, output=output, seconds=seconds)
