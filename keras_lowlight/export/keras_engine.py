"""The Keras backend of the tiler: a `.keras` model (or a built one) as a `runtime.TileEngine`.

Kept apart from `keras_lowlight.runtime.engine` because it needs TensorFlow and the model registry; the
runtime proper (LiteRT) stands on numpy and I/O only. `runtime.KerasEngine` still resolves here.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from keras_lowlight.runtime import modelcheck
from keras_lowlight.runtime.engine import RuntimeInputError, _output_geometry


class KerasEngine:
    """A Keras 3 model (or a `.keras` path) as a tile backend — the float reference."""

    def __init__(self, model: Any, multiple: int | None = None):
        if isinstance(model, (str, os.PathLike)):
            from keras_lowlight.export import load_keras_model

            model = load_keras_model(model)
        problem = modelcheck.keras_problem(model)
        if problem:
            raise RuntimeInputError(f"not a low-light RAW model: {problem}")
        from keras_lowlight.models import head_of, input_multiple

        self.model = model
        shape = model.inputs[0].shape
        self.channels = int(shape[-1])
        self.head = head_of(model)
        self.scale, self.out_channels = _output_geometry(self.channels, self.head)
        if multiple is None:
            multiple = input_multiple(model)
        self.multiple = int(multiple)
        self._predict = None

    def run(self, tile: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        if self._predict is None:
            # One traced graph for all tiles of a shape; eager per-tile calls are ~2× slower.
            self._predict = tf.function(lambda x: self.model(x, training=False), reduce_retracing=True)
        return np.asarray(self._predict(tf.constant(tile, tf.float32)))
