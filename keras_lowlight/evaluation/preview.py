"""A plain ISP for "before" pictures: what amplification alone gives a photographer.

Amplified packed channels → camera RGB (greens averaged), the file's white balance, a fixed
Sony-like camera→sRGB matrix, the BT.709 curve, nearest upsampling to full size. No denoising:
the point of the picture is to show the noise the model removes.
"""

from __future__ import annotations

import numpy as np

from keras_lowlight.evaluation.baseline import bt709_encode, packed_to_rgb
from keras_lowlight.runtime.conventions import SCALE_FOR_CHANNELS, amplify
from keras_lowlight.runtime.raw import RawImage

# sRGB(linear) ← camera RGB for a Sony a7S II-like sensor (rows sum to 1 so grey stays grey).
CAMERA_TO_SRGB = np.array([[1.97, -0.68, -0.29], [-0.29, 1.75, -0.46], [0.02, -0.54, 1.52]], np.float32)


def simple_render(image: RawImage, ratio: float) -> np.ndarray:
    """(H, W, 3) float32 sRGB in [0, 1] of the amplified frame, without any denoising."""
    packed = amplify(image.packed(), ratio)
    rgb = packed_to_rgb(packed) * np.asarray(image.white_balance, np.float32)
    srgb = bt709_encode(np.clip(rgb @ CAMERA_TO_SRGB.T, 0, 1))
    scale = SCALE_FOR_CHANNELS[packed.shape[-1]]
    return np.repeat(np.repeat(srgb, scale, 0), scale, 1).astype(np.float32)
