"""Training and evaluation data: the tf.data pipeline over TFDS `sid/*` (`pipeline`), the calibrated
noise model (`noise`), synthetic scenes (`synthetic`, `procedural`) and the real-sensor check set
(`sensor_check`).

The pipeline's API is this package's: `keras_lowlight.data.make_dataset(...)`, `eval_pairs`, … are
`keras_lowlight.data.pipeline`'s, loaded on first use so that the numpy-only modules here
(`procedural`, `synthetic`) do not pull TensorFlow in.
"""

from __future__ import annotations

_PIPELINE = frozenset({
    "AUTOTUNE", "DatasetError", "EvalPair", "MISALIGNED_SCENES", "NOISE_MODES", "PROTOCOLS", "P_SID_RATIO",
    "RATIO_RANGE", "SID_RATIOS", "TARGETS", "clean_scenes", "draw_ratio_tf", "eval_pairs", "keep_for_protocol",
    "load_scenes", "make_dataset", "peek_cfa_pattern", "peek_scene", "representative_crops", "scene_pairs",
    "scenes_from_examples", "split_fingerprint", "synthesize_short_dn_tf", "test_pairs",
})


def __getattr__(name: str):
    if name in _PIPELINE:
        from keras_lowlight.data import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'keras_lowlight.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _PIPELINE)
