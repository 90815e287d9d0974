"""Learning-rate schedules, registered so a saved model's optimizer reloads."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="keras_lowlight")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr = initial · factor^floor(step / decay_steps) — the paper's ÷10 every 2000 epochs.

    A schedule over optimizer steps (not a callback) so that it is saved with the optimizer and
    a resumed run continues at the right rate.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, factor: float = 0.1):
        if decay_steps <= 0:
            raise ValueError(f"decay_steps must be positive, got {decay_steps}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.factor = float(factor)

    def __call__(self, step):
        exponent = tf.floor(tf.cast(step, tf.float32) / float(self.decay_steps))
        return self.initial_learning_rate * tf.pow(self.factor, exponent)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "factor": self.factor,
        }
