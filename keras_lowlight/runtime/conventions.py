"""The numbers every layer agrees on, in one TensorFlow-free place.

The RAW reader, the tiler, the LiteRT runtime, the phone contract, the training data and the
exporter all need the same few facts: how a CFA packs (channels, upscale), how far a frame may
be amplified and how, which tile sizes to use, and the names of a `.tflite`'s signature. Each
used to be written in several modules; they live here so a change cannot drift. Only numpy.
"""

from __future__ import annotations

import numpy as np

# === CFA ↔ model input ===

# cfa kind → (packed input channels, output upscale): Bayer packs 2×2 → 4 channels at ½ resolution
# (×2 back), X-Trans 6×6 → 9 channels at ⅓ (×3), exactly as SID's `pack_raw`.
CFA_IO: dict[str, tuple[int, int]] = {"bayer": (4, 2), "xtrans": (9, 3)}
CFA_FOR_CHANNELS: dict[int, str] = {channels: cfa for cfa, (channels, _) in CFA_IO.items()}
SCALE_FOR_CHANNELS: dict[int, int] = {channels: scale for channels, scale in CFA_IO.values()}

# === Amplification ===

MAX_RATIO = 300.0  # SID caps the amplification ratio at 300


def amplify(packed: np.ndarray, ratio: float, out: np.ndarray | None = None) -> np.ndarray:
    """normalised × min(ratio, MAX_RATIO), clipped to 1, float32 — the model's input rule.

    `out` (float32, same shape; may be `packed` itself) avoids a second frame-sized copy.
    """
    gain = np.float32(min(float(ratio), MAX_RATIO))
    if out is None:
        out = np.empty(np.shape(packed), np.float32)
    np.multiply(packed, gain, out=out, dtype=np.float32, casting="unsafe")
    return np.minimum(out, np.float32(1.0), out=out)


# === Tiling ===

# Desktop default of `keras_lowlight.runtime.engine.enhance_frame`: big tiles amortise the overlap.
DEFAULT_TILE = 512
DEFAULT_OVERLAP = 64
# Phones (web and Android clients, the quantization report): smaller tiles for their memory; the
# contract also fixes the origin multiple (16 suits every preset; U-Net needs 16).
PHONE_TILE = {"multiple": 16, "size": 256, "overlap": 32}

# === The `.tflite` face (written by `keras_lowlight.export`, read by the runtime and phones) ===

SIGNATURE_KEY = "enhance"
INPUT_NAME = "packed_raw"
OUTPUT_NAME = "srgb"
RAW_OUTPUT_NAME = "raw"  # the RAW head's output: the file itself says which head it has
OUTPUT_NAMES = (OUTPUT_NAME, RAW_OUTPUT_NAME)
