"""Which machine a run trained (or a card was measured) on: one description for the run record,
the model card and benchmark result files."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def hardware() -> str:
    """CPU model and core count (or the GPU TensorFlow sees) of this machine."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return ", ".join(tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus)
    return f"{cpu_model()}, {os.cpu_count()} cores, no GPU"


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    model = platform.processor() or platform.machine() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model
