"""The `sid` builder through Apache Beam (DirectRunner) gives the same examples as without it.

Beam is optional (`pip install -e .[beam]`, ~1 min): the default suite has no apache_beam and
skips this module; CI runs it in a job that installs the `beam` extra.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds

beam = pytest.importorskip("apache_beam", reason="optional: install the `beam` extra to test the Beam path")

import tfds_sid  # noqa: E402,F401  (registers `sid`)
from tfds_sid.sid import sid_dataset_builder as sid  # noqa: E402

DUMMY = Path(sid.__file__).parent / "dummy_data"


def _scenes(builder, split):
    return {int(e["scene_id"]): e for e in tfds.as_numpy(builder.as_dataset(split=split))}


@pytest.mark.parametrize("config", ["sony", "fuji"])
def test_beam_build_matches_local_build(tmp_path, config):
    options = beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"])
    built = {}
    for name, beam_options in (("local", None), ("beam", options)):
        builder = tfds.builder(f"sid/{config}", data_dir=tmp_path / name)
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=str(DUMMY), beam_options=beam_options)
        )
        built[name] = builder
    for split in ("train", "validation", "test"):
        local, via_beam = _scenes(built["local"], split), _scenes(built["beam"], split)
        assert sorted(local) == sorted(via_beam) and local
        for scene_id, example in local.items():
            np.testing.assert_array_equal(example["long_srgb"], via_beam[scene_id]["long_srgb"])
            np.testing.assert_array_equal(example["short"]["raw"], via_beam[scene_id]["short"]["raw"])
            assert list(example["short"]["file"]) == list(via_beam[scene_id]["short"]["file"])
