"""The real-sensor check: the Canon EOS 550D DNG darkened with the noise model is an evaluation set."""

from __future__ import annotations

import numpy as np
import pytest

from keras_lowlight import data
from keras_lowlight.runtime import raw
from keras_lowlight.data import sensor_check


def test_canon_dng_darkened_at_sid_ratios(canon_dng):
    example = sensor_check.darkened_example(canon_dng, bursts=2, seed=0, crop=512)
    image = raw.read_raw(canon_dng)
    assert example["camera"] == image.camera and example["cfa_pattern"] == image.cfa_pattern
    assert example["long_raw"].shape == (512, 512) == example["long_srgb"].shape[:2]
    short = example["short"]
    assert sorted(short["ratio"].tolist()) == [100, 100, 250, 250, 300, 300]
    black = float(np.mean(image.black_levels))
    clean_dn = example["long_raw"].astype(np.float64) - black
    for frame, ratio in zip(short["raw"], short["ratio"]):
        # Darkened in the file's own DN scale, written above the file's black level (unclipped
        # below it), so the mean is the long exposure's / ratio.
        assert frame.dtype == np.uint16
        assert abs((frame.astype(np.float64) - black).mean() - clean_dn.mean() / ratio) < 0.5
        assert (frame.astype(np.float64) - black).std() > 1.0  # noisy
    # Reproducible per seed.
    again = sensor_check.darkened_example(canon_dng, bursts=2, seed=0, crop=512)
    np.testing.assert_array_equal(again["short"]["raw"], short["raw"])

    pairs = list(data.eval_pairs(scenes=data.scenes_from_examples([example]), protocol="all"))
    assert len(pairs) == 6 and {p.ratio for p in pairs} == {100.0, 250.0, 300.0}
    assert pairs[0].packed.shape == (256, 256, 4) and pairs[0].target.shape == (512, 512, 3)
    assert pairs[0].target_raw.shape == (256, 256, 4)


def test_a_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(raw.RawReadError, match="no such file"):
        sensor_check.darkened_example(tmp_path / "nothing.dng")
