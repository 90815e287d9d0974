"""TFDS builder tests: every config built end to end (dummy archives for sony / fuji)."""

import tensorflow_datasets as tfds

from tfds_sid.sid import sid_dataset_builder


class SyntheticTest(tfds.testing.DatasetBuilderTestCase):
    """The embedded default: generated from scikit-image's photographs, no download."""

    DATASET_CLASS = sid_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["synthetic"]
    SPLITS = {"train": 46, "validation": 2, "test": 4}


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
