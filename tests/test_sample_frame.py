"""The sample frame behind the demo's and the model cards' pictures carries the scene's own colour:
a RAW-domain model renders with what the file declares, so a default white balance would tint it."""

from __future__ import annotations

import numpy as np

from keras_lowlight.reports.sample_frame import middle_ratio_index, write_scene_short
from keras_lowlight.runtime.raw import RGB_TO_XYZ, read_raw


def _scene(white_balance, xyz_to_cam) -> dict:
    rng = np.random.default_rng(0)
    ratios = np.array([300.0, 100.0, 250.0])
    return {
        "cfa_pattern": b"RGGB", "black_levels": np.array([512, 512, 512, 512]), "white_level": 16383,
        "camera": b"Sony ILCE-7SM2", "white_balance": np.asarray(white_balance, np.float32),
        "xyz_to_cam": np.asarray(xyz_to_cam, np.float32),
        "short": {"raw": rng.integers(512, 700, (3, 32, 48)).astype(np.uint16), "ratio": ratios,
                  "file": np.array([b"10001_00_0.033s.ARW", b"10001_00_0.1s.ARW", b"10001_00_0.04s.ARW"]),
                  "exposure": np.array([0.033, 0.1, 0.04]), "iso": np.array([1600, 1600, 1600])},
    }


def test_the_written_frame_declares_the_scenes_colour(tmp_path):
    gains = (2.4, 1.0, 1.3)  # far from the writer's default camera neutral
    xyz_to_cam = [[0.65, -0.05, -0.08], [-0.44, 1.22, 0.24], [-0.05, 0.13, 0.55]]
    path, index = write_scene_short(_scene(gains, xyz_to_cam), tmp_path)
    assert index == middle_ratio_index(_scene(gains, xyz_to_cam)) == 2 and path.name == "10001_00_0.04s.ARW"
    image = read_raw(path)
    np.testing.assert_allclose(image.white_balance, gains, rtol=1e-3)
    # LibRaw hands a DNG's ColorMatrix back normalised so sRGB white maps to camera white: compare
    # the sRGB → camera matrices with rows scaled to sum to 1 (what the ISP renders with).
    def srgb_to_cam(m):
        m = np.asarray(m, np.float64) @ RGB_TO_XYZ
        return m / m.sum(axis=1, keepdims=True)

    np.testing.assert_allclose(srgb_to_cam(image.xyz_to_cam), srgb_to_cam(xyz_to_cam), atol=1e-3)
    assert image.exposure_time == 0.04
