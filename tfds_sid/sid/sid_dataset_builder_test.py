"""TFDS builder tests: every config built end to end (dummy archives for sony / fuji)."""

from unittest import mock

import tensorflow_datasets as tfds

from keras_lowlight.data import synthetic
from tfds_sid.sid import sid_dataset_builder

_ALL_PLANS = synthetic.scene_plans


def _reduced_plans(split: str) -> list:
    """A few scenes per split, to keep the suite fast: the full build's size and time are measured
    in tfds_sid/sid/README.md, the split design is checked in tests/test_synthetic.py."""
    plans = _ALL_PLANS(split)
    return plans[-2:] if split == "train" else plans[:1]


class SyntheticTest(tfds.testing.DatasetBuilderTestCase):
    """The embedded defaults (Bayer and X-Trans): generated, no download; reduced to 4 scenes."""

    DATASET_CLASS = sid_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["synthetic", "synthetic_xtrans"]
    SPLITS = {"train": 2, "validation": 1, "test": 1}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._reduce = mock.patch.object(synthetic, "scene_plans", _reduced_plans)
        cls._reduce.start()

    @classmethod
    def tearDownClass(cls):
        cls._reduce.stop()
        super().tearDownClass()


class SonyTest(tfds.testing.DatasetBuilderTestCase):
    """dummy_data/Sony.zip with SID's list files beside it."""

    DATASET_CLASS = sid_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["sony"]
    SPLITS = {"train": 2, "validation": 1, "test": 1}


class FujiTest(tfds.testing.DatasetBuilderTestCase):
    """dummy_data/Fuji.zip (X-Trans) without list files: splits from SID's file names."""

    DATASET_CLASS = sid_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["fuji"]
    SPLITS = {"train": 2, "validation": 1, "test": 1}


if __name__ == "__main__":
    tfds.testing.test_main()
