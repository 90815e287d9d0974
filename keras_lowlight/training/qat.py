"""Quantization-aware retraining (QAT) with tensorflow-model-optimization, exported as int8 TFLite.

tfmot 0.8.1 only understands `tf_keras` (Keras 2) models and refuses Keras 3 ones, so QAT runs on
a twin: `keras_lowlight.models.tf_keras_twin.build_tf_keras_twin` rebuilds the same architecture
as a flat tf_keras functional graph with identical weight order; the trained Keras 3 weights are
copied over, every layer is annotated, `quantize_apply` inserts fake-quant, and a few epochs of
`fit` let the weights adapt to int8 rounding. The fitted model carries its own quantization
ranges, so conversion needs no representative dataset.

tfmot is imported inside the functions here, never at module import: importing it sets
`TF_USE_LEGACY_KERAS=1`, which flips `tf.keras` to Keras 2 for the whole process.

Annotation (what tfmot's default 8-bit registry does not know):
    Multiply (SE's x·gate) and residual scaling → `OutputQuantizeConfig`: the result is requantized.
    depth_to_space / space_to_depth / nearest resize / pad / crop → `NoOpQuantizeConfig`: they only
        move values, so they inherit their input's int8 parameters.
    Conv2D, Add, LeakyReLU, ReLU, GlobalAveragePooling2D, MaxPooling2D, Concatenate, … → default.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from keras_lowlight.runtime.errors import LowlightError

# Layers that only move values: int8 in → same int8 out, no new range to learn.
# (The twin's custom layers are named Twin<Name>, see models/tf_keras_twin.py.)
LAYOUT_LAYERS = frozenset(
    name
    for base in ("DepthToSpace", "SpaceToDepth", "NearestUpsample", "PadToMultiple", "CropToMatch")
    for name in (base, f"Twin{base}")
) | {"Cropping2D", "ZeroPadding2D"}
# Layers that compute a new value without weights: quantize their output.
ARITHMETIC_LAYERS = frozenset({"Multiply", "ResidualScale", "TwinResidualScale", "Rescaling"})


class QatError(LowlightError):
    """QAT cannot run on this model or data."""


def _tfmot():
    """tfmot's Keras API, imported on first use only (see module docstring)."""
    import tensorflow_model_optimization as tfmot

    return tfmot.quantization.keras


_CONFIG_CLASSES: dict[str, type] = {}


def quantize_configs() -> dict[str, type]:
    """The two QuantizeConfig classes (built lazily because they subclass tfmot's base class)."""
    if _CONFIG_CLASSES:
        return _CONFIG_CLASSES
    qk = _tfmot()
    MovingAverageQuantizer = qk.quantizers.MovingAverageQuantizer

    class NoOpQuantizeConfig(qk.QuantizeConfig):
        """Pure data movement (depth_to_space, resize-nearest, pad, crop): nothing to quantize."""

        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return []

        def get_config(self):
            return {}

    class OutputQuantizeConfig(NoOpQuantizeConfig):
        """A weightless arithmetic layer (SE's Multiply, residual ×scale): learn its output range."""

        def get_output_quantizers(self, layer):
            return [MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False, narrow_range=False)]

    _CONFIG_CLASSES.update(NoOpQuantizeConfig=NoOpQuantizeConfig, OutputQuantizeConfig=OutputQuantizeConfig)
    return _CONFIG_CLASSES


def annotate_layer(layer):
    """The `annotate(layer) -> layer` callback for `build_tf_keras_twin` (or `clone_model`)."""
    qk = _tfmot()
    kind = type(layer).__name__
    if kind == "InputLayer":
        return layer
    configs = quantize_configs()
    if kind in ARITHMETIC_LAYERS:
        return qk.quantize_annotate_layer(layer, quantize_config=configs["OutputQuantizeConfig"]())
    if kind in LAYOUT_LAYERS:
        return qk.quantize_annotate_layer(layer, quantize_config=configs["NoOpQuantizeConfig"]())
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_registry,
    )

    if default_8bit_quantize_registry.Default8BitQuantizeRegistry().supports(layer):
        return qk.quantize_annotate_layer(layer)
    if layer.weights:
        raise QatError(f"layer {layer.name!r} ({kind}) has weights but no QAT rule; add a QuantizeConfig for it")
    # An unknown weightless layer: treat as arithmetic (requantize its output), the safe choice.
    return qk.quantize_annotate_layer(layer, quantize_config=configs["OutputQuantizeConfig"]())


def _scope_objects(model) -> dict[str, Any]:
    """Custom classes tfmot must be able to (de)serialize while cloning: configs + twin layers."""
    import tf_keras

    from keras_lowlight.models.tf_keras_twin import twin_custom_objects

    objects: dict[str, Any] = {**quantize_configs(), **twin_custom_objects()}
    for layer in model.layers:
        inner = getattr(layer, "layer", layer)  # QuantizeAnnotate wraps the real layer
        cls = type(inner)
        if not cls.__module__.startswith(("tf_keras", "keras.")) and cls is not tf_keras.layers.InputLayer:
            objects[cls.__name__] = cls
    return objects


@contextlib.contextmanager
def qat_scope(model=None) -> Iterator[None]:
    """`quantize_scope` knowing our QuantizeConfigs and the twin's custom layers."""
    qk = _tfmot()
    with qk.quantize_scope(_scope_objects(model) if model is not None else dict(quantize_configs())):
        yield


def annotate_model(twin):
    """Annotates an un-annotated flat tf_keras model via `clone_model` (weights are kept)."""
    import tf_keras

    with qat_scope(twin):
        annotated = tf_keras.models.clone_model(twin, clone_function=annotate_layer)
    annotated.set_weights(twin.get_weights())
    return annotated


def apply_quantization(annotated):
    """`quantize_apply` on an annotated tf_keras model → a QAT model with fake-quant nodes."""
    qk = _tfmot()
    with qat_scope(annotated):
        return qk.quantize_apply(annotated)


def build_qat_model(model, size_adapters: bool = True):
    """Keras 3 model → annotated tf_keras twin with the same weights → QAT model.

    size_adapters=False drops the pad/crop layers first (`models.without_size_adapters`): the
    exported graph then needs H, W multiples of `models.input_multiple(model)` (the tiler's
    tiles are) and stays static-shaped inside, which XNNPACK runs much faster.
    """
    from keras_lowlight.models import without_size_adapters
    from keras_lowlight.models.tf_keras_twin import build_tf_keras_twin

    if not size_adapters:
        model = without_size_adapters(model)
    _tfmot()
    try:
        with qat_scope():
            twin = build_tf_keras_twin(model, annotate=annotate_layer)
    except ValueError as e:
        raise QatError(f"no tf_keras twin for {model.name!r}: {e}") from None
    return apply_quantization(twin)


@contextlib.contextmanager
def _range_tracking_decay(decay: float) -> Iterator[None]:
    """Temporarily lets tfmot's moving-average activation quantizers follow batches at `decay`.

    tfmot starts every activation range at [-6, 6] and updates it with a hard-coded EMA decay of
    0.999, so a short fine-tune (hundreds of steps) leaves ranges near ±6: a 0.047 step, ~28 dB
    on [0, 1] images. Calibrating the ranges first (decay 0 on the first batch, then a fast EMA)
    is the usual fix; tfmot exposes no parameter for it, hence this scoped patch.
    """
    from tensorflow_model_optimization.python.core.quantization.keras import quant_ops

    original = quant_ops.MovingAvgQuantize

    def patched(*args, **kwargs):
        kwargs["ema_decay"] = decay
        return original(*args, **kwargs)

    quant_ops.MovingAvgQuantize = patched
    try:
        yield
    finally:
        quant_ops.MovingAvgQuantize = original


def calibrate_ranges(qat_model, dataset, batches: int = 16) -> None:
    """Sets every activation range from data before fine-tuning (forward passes, no weight update).

    First batch: the exact range (EMA decay 0); then decay 0.9 over the next `batches - 1`.
    `dataset` yields (packed, target) or packed batches.
    """
    iterator = iter(dataset)
    for i in range(batches):
        try:
            batch = next(iterator)
        except StopIteration:
            break
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        with _range_tracking_decay(0.0 if i == 0 else 0.9):
            qat_model(x, training=True)  # eager: the patched quantizer is used on every call


def compile_for_qat(qat_model, learning_rate: float = 1e-5) -> None:
    """The float training's loss (L1, or μ-law L1 for a RAW head) and Adam — a small rate: the
    weights only need to settle."""
    import tf_keras

    from keras_lowlight.models import head_of

    loss = "mean_absolute_error"
    if head_of(qat_model) == "raw":
        from keras_lowlight.models.losses import tonemapped_l1

        loss = tonemapped_l1  # a plain function of TF-backend ops: tf_keras calls it as is
    qat_model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate), loss=loss)


def fit_qat(qat_model, dataset, epochs: int = 1, steps_per_epoch: int | None = None, verbose: int | str = "auto"):
    """`fit` on (packed, target) batches; returns the History."""
    return qat_model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=verbose)


def convert_qat(qat_model, static_tile: int | None = None) -> bytes:
    """A fitted QAT model → int8 `.tflite` with the project's `enhance(packed_raw) → srgb` signature.

    static_tile: fix the input to (1, static_tile, static_tile, C), as `export.convert` does, for
    runtimes that compile one shape (LiteRT.js, Android's CompiledModel).
    """
    import tensorflow as tf

    from keras_lowlight.export import INPUT_NAME, check_builtin_only, conversion_error, name_signature, output_name_for
    from keras_lowlight.models import head_of

    channels = int(qat_model.inputs[0].shape[-1])
    output_name = output_name_for(head_of(qat_model))

    class Enhancer(tf.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        @tf.function(input_signature=[tf.TensorSpec((1, static_tile, static_tile, channels), tf.float32,
                                                    name=INPUT_NAME)])
        def enhance(self, packed_raw):
            return {output_name: self.model(packed_raw, training=False)}

    module = Enhancer(qat_model)
    # Freezing the concrete function directly (no SavedModel round trip): tfmot's
    # Conv2DTranspose wrapper captures a tensor that tf.saved_model cannot serialise.
    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.enhance.get_concrete_function()])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        flatbuffer = converter.convert()
    except Exception as e:
        raise conversion_error("QAT int8", e) from e
    flatbuffer = name_signature(flatbuffer, output_name)
    check_builtin_only(flatbuffer, "qat")
    return flatbuffer


def run_qat(
    model_path: str | os.PathLike,
    output: str | os.PathLike,
    dataset=None,
    *,
    data: str = "sid/synthetic",
    crop: int = 128,
    batch: int = 4,
    epochs: int = 1,
    steps_per_epoch: int = 100,
    learning_rate: float = 1e-5,
    weights_out: str | os.PathLike | None = None,
    size_adapters: bool = True,
    calibration_batches: int = 16,
    tile_output: str | os.PathLike | None = None,
    tile: int = 256,
    noise: str = "recorded",
) -> Path:
    """`.keras` → QAT fine-tuning → int8 `.tflite` (atomic write). Returns the output path.

    Args:
        dataset: a tf.data of (packed, target) batches; default: the training pipeline's
            `keras_lowlight.data.make_dataset(data, "train", cfa=..., crop, batch, training=True)`.
        calibration_batches: batches used to set activation ranges before fine-tuning.
        weights_out: also save the fitted QAT weights (`.weights.h5`): QAT models do not reload
            from `.keras`; rebuild with `build_qat_model` + `load_weights`.
        noise: "recorded" pairs or fresh "synthetic" noise each step, as the float run trained.
        tile_output: also write the same fitted weights as a fixed (1, tile, tile, C) int8 model
            (the shipped `model_int8_tile256.tflite`), without a second fine-tune.
    """
    from keras_lowlight.export import load_keras_model, write_atomically
    from keras_lowlight.models import input_multiple

    model = load_keras_model(model_path)
    channels = int(model.inputs[0].shape[-1])
    if dataset is None:
        from keras_lowlight.data import make_dataset

        from keras_lowlight.runtime.conventions import CFA_FOR_CHANNELS

        cfa = CFA_FOR_CHANNELS.get(channels)
        if cfa is None:
            raise QatError(f"{model_path}: input has {channels} channels; expected 4 (Bayer) or 9 (X-Trans)")
        from keras_lowlight.models import head_of

        target = {"target": "raw"} if head_of(model) == "raw" else {}  # the clean packed RAW to learn
        dataset = make_dataset(dataset=data, split="train", cfa=cfa, crop=crop, batch=batch, training=True,
                               noise=noise, **target)
    qat_model = build_qat_model(model, size_adapters=size_adapters)
    calibrate_ranges(qat_model, dataset, calibration_batches)
    compile_for_qat(qat_model, learning_rate)
    fit_qat(qat_model, dataset, epochs=epochs, steps_per_epoch=steps_per_epoch)
    if weights_out is not None:
        qat_model.save_weights(str(weights_out))
    if tile_output is not None:
        if size_adapters or tile % input_multiple(model):
            raise QatError(f"a fixed {tile}×{tile} model needs --no-size-adapters and a tile that is a "
                           f"multiple of {input_multiple(model)}")
        write_atomically(tile_output, convert_qat(qat_model, static_tile=tile))
    return write_atomically(output, convert_qat(qat_model))
