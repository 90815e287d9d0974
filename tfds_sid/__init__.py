"""TFDS builders of keras-lowlight. `import tfds_sid` registers `sid` (configs synthetic, sony, fuji)."""

from tfds_sid.sid import sid_dataset_builder  # noqa: F401  (registers the `sid` builder)
