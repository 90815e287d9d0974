"""From any `sid/*` TFDS split to `(packed_input, srgb_target)` batches, all in TF ops.

The TFDS builder stores one example per scene (the long exposure once, its short frames in a
sequence). This module flattens scenes into (short frame, ground truth) pairs, crops first —
aligned to the CFA period, so the black-level tile and the packing phase stay right — and only
then normalises, packs and amplifies the crop: a 4240×2832 Sony frame is never normalised whole
just to cut 256×256 out of it. Memory is bounded by design: a few decoded scenes in flight plus a
shuffle buffer of crops, never the whole dataset (SID's own scripts keep every image in RAM).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from keras_lowlight import packing
from keras_lowlight.conventions import MAX_RATIO, amplify  # one home for the amplification rule
from keras_lowlight.errors import LowlightError
from keras_lowlight.raw import normalize, normalize_tf

MISALIGNED_SCENES = (10034, 10045, 10172)  # Sony test scenes Maharjan et al. drop
PROTOCOLS = ("sid", "maharjan", "all")
AUTOTUNE = tf.data.AUTOTUNE


class DatasetError(LowlightError):
    """A dataset cannot be loaded or does not fit the requested pipeline."""


def load_scenes(
    dataset: str = "sid/synthetic",
    split: str = "train",
    data_dir: str | None = None,
    manual_dir: str | None = None,
    shuffle_files: bool = False,
) -> tf.data.Dataset:
    """`tfds.load` of a `sid/*` config (prepared on first use), one element per scene."""
    import tensorflow_datasets as tfds

    import tfds_sid  # noqa: F401  (registers the `sid` builder)

    kwargs = {}
    if manual_dir:
        kwargs["download_and_prepare_kwargs"] = {
            "download_config": tfds.download.DownloadConfig(manual_dir=manual_dir)
        }
    try:
        return tfds.load(dataset, split=split, data_dir=data_dir, shuffle_files=shuffle_files, **kwargs)
    except (AssertionError, ValueError, KeyError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DatasetError(f"cannot load {dataset!r} split {split!r}: {first_line}") from None


def scene_pairs(scenes: tf.data.Dataset) -> tf.data.Dataset:
    """Scenes → one element per short frame, each carrying its scene's ground truth."""

    def expand(scene):
        shared = {
            "long_srgb": scene["long_srgb"],
            "black_levels": scene["black_levels"],
            "white_level": scene["white_level"],
            "cfa_pattern": scene["cfa_pattern"],
            "scene_id": scene["scene_id"],
        }
        frames = tf.data.Dataset.from_tensor_slices(scene["short"])
        return frames.map(lambda f: {**f, **shared})

    return scenes.flat_map(expand)


def peek_cfa_pattern(scenes: tf.data.Dataset) -> str:
    """CFA layout of a dataset (read from its first scene; every SID config has one camera)."""
    for scene in scenes.take(1):
        return scene["cfa_pattern"].numpy().decode()
    raise DatasetError("the dataset split is empty")


def _amplify(packed: tf.Tensor, ratio: tf.Tensor) -> tf.Tensor:
    ratio = tf.minimum(tf.cast(ratio, tf.float32), MAX_RATIO)
    return tf.minimum(packed * ratio, 1.0)


def _prepare(raw, gt, black_levels, white_level, ratio, cfa_pattern: str):
    """Crop-sized (mosaic, gt) → (packed input × ratio, target in [0, 1])."""
    layout = packing.layout_for(cfa_pattern)
    norm = normalize_tf(raw, black_levels, white_level, layout.period)
    packed = _amplify(packing.pack_tf(norm, cfa_pattern), ratio)
    return packed, tf.cast(gt, tf.float32) / 65535.0


def _augment(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The same random flips (both spatial axes) and transpose on input and target.

    The authors' released code flips axis 0 of a batch of one — a no-op — so only one flip
    ever happened there; here both spatial axes flip independently.
    """
    flips = tf.random.uniform([3]) < 0.5
    x = tf.cond(flips[0], lambda: tf.reverse(x, [0]), lambda: x)
    y = tf.cond(flips[0], lambda: tf.reverse(y, [0]), lambda: y)
    x = tf.cond(flips[1], lambda: tf.reverse(x, [1]), lambda: x)
    y = tf.cond(flips[1], lambda: tf.reverse(y, [1]), lambda: y)
    x = tf.cond(flips[2], lambda: tf.transpose(x, [1, 0, 2]), lambda: x)
    y = tf.cond(flips[2], lambda: tf.transpose(y, [1, 0, 2]), lambda: y)
    return x, y


def make_dataset(
    dataset: str = "sid/synthetic",
    split: str = "train",
    *,
    scenes: tf.data.Dataset | None = None,
    cfa: str | None = None,
    crop: int | None = 256,
    batch: int = 8,
    training: bool = True,
    shuffle_buffer: int = 64,
    crops_per_pair: int = 1,
    repeat: bool | None = None,
    data_dir: str | None = None,
    manual_dir: str | None = None,
) -> tf.data.Dataset:
    """`(packed_input, srgb_target)` batches for `model.fit` / `model.evaluate`.

    Args:
        dataset, split: a `sid/*` TFDS config and split (ignored when `scenes` is given).
        scenes: an already loaded scene dataset with the `sid` schema.
        cfa: "bayer" / "xtrans" to check the data against, or None to accept what it is.
        crop: crop side in PACKED pixels (the paper's 256 → 512×512 sRGB target; SID used 512).
            Training crops are random and CFA-aligned; evaluation crops are central. None: full
            frames (evaluation only, batch 1).
        training: random crops, flips/transpose, shuffling, endless repetition.
        crops_per_pair: crops cut from each decoded frame before moving on (amortises decoding
            of large real frames; 1 reproduces SID's one crop per image per epoch).
    """
    if scenes is None:
        scenes = load_scenes(dataset, split, data_dir=data_dir, manual_dir=manual_dir, shuffle_files=training)
    pattern = peek_cfa_pattern(scenes)
    layout = packing.layout_for(pattern)
    if cfa is not None and cfa != layout.kind:
        raise DatasetError(f"{dataset} holds {layout.kind} frames, but a {cfa} model was asked for")
    if crop is not None:
        if crop <= 0:
            raise DatasetError(f"crop must be positive, got {crop}")
        if crop % layout.cells:
            raise DatasetError(f"crop must be a multiple of {layout.cells} packed pixels for {layout.kind}")
    if crop is None and batch != 1:
        raise DatasetError("full-frame batches need batch=1 (frames differ in size)")
    scale, period = layout.scale, layout.period
    dy, dx = layout.offset

    pairs = scene_pairs(scenes)
    if training and crops_per_pair > 1:
        pairs = pairs.flat_map(lambda p: tf.data.Dataset.from_tensors(p).repeat(crops_per_pair))

    def to_example(pair):
        raw = pair["raw"][dy:, dx:]
        gt = pair["long_srgb"][dy:, dx:]
        h, w = tf.shape(raw)[0], tf.shape(raw)[1]
        if crop is None:
            ch, cw = h // period * period, w // period * period
            y0 = x0 = tf.constant(0)
        else:
            ch = cw = crop * scale
            tf.debugging.assert_greater_equal(
                tf.minimum(h, w), ch, message=f"crop of {crop} packed px is larger than a frame"
            )
            if training:
                y0 = tf.random.uniform([], 0, (h - ch) // period + 1, tf.int32) * period
                x0 = tf.random.uniform([], 0, (w - cw) // period + 1, tf.int32) * period
            else:
                y0 = (h - ch) // 2 // period * period
                x0 = (w - cw) // 2 // period * period
        x, y = _prepare(
            raw[y0 : y0 + ch, x0 : x0 + cw],
            gt[y0 : y0 + ch, x0 : x0 + cw],
            pair["black_levels"],
            pair["white_level"],
            pair["ratio"],
            pattern,
        )
        if training:
            x, y = _augment(x, y)
        if crop is not None:
            x = tf.ensure_shape(x, [crop, crop, layout.channels])
            y = tf.ensure_shape(y, [crop * scale, crop * scale, 3])
        return x, y

    ds = pairs.map(to_example, num_parallel_calls=AUTOTUNE, deterministic=not training)
    if training:
        ds = ds.shuffle(shuffle_buffer)
    if repeat if repeat is not None else training:
        ds = ds.repeat()
    return ds.batch(batch, drop_remainder=training).prefetch(AUTOTUNE)


def representative_crops(
    dataset: str = "sid/synthetic",
    split: str = "train",
    count: int = 200,
    crop: int = 64,
    cfa: str | None = None,
    data_dir: str | None = None,
) -> Iterator[np.ndarray]:
    """`count` random training crops (1, crop, crop, C) for full-integer quantization calibration.

    They come from the real training pipeline, so the int8 ranges see the amplified, clipped
    inputs a deployed model sees.
    """
    ds = make_dataset(dataset, split, cfa=cfa, crop=crop, batch=1, training=True, data_dir=data_dir)
    for x, _ in ds.take(count):
        yield x.numpy()


# === Full-frame evaluation pairs ===


@dataclass
class EvalPair:
    """One test pair at full resolution (numpy), with what the protocols filter on."""

    packed: np.ndarray  # (H/s, W/s, C), amplified and clipped
    target: np.ndarray  # (H, W, 3) float32 in [0, 1], cropped to match the packing
    scene_id: int
    burst: int
    ratio: float
    file: str
    cfa_pattern: str


def keep_for_protocol(protocol: str, scene_id: int, burst: int) -> bool:
    """`sid`: burst _00 only; `maharjan`: _00 minus 3 misaligned scenes; `all`: every pair minus them."""
    if protocol not in PROTOCOLS:
        raise DatasetError(f"unknown protocol {protocol!r}; choose from {PROTOCOLS}")
    if protocol == "sid":
        return burst == 0
    if scene_id in MISALIGNED_SCENES:
        return False
    return burst == 0 if protocol == "maharjan" else True


def eval_pairs(
    dataset: str = "sid/synthetic",
    split: str = "test",
    protocol: str = "all",
    cfa: str | None = None,
    scenes: tf.data.Dataset | None = None,
    data_dir: str | None = None,
    manual_dir: str | None = None,
) -> Iterator[EvalPair]:
    """Full-resolution test pairs, filtered by protocol, one scene decoded at a time."""
    if protocol not in PROTOCOLS:
        raise DatasetError(f"unknown protocol {protocol!r}; choose from {PROTOCOLS}")
    if scenes is None:
        scenes = load_scenes(dataset, split, data_dir=data_dir, manual_dir=manual_dir)
    for scene in scenes.as_numpy_iterator():
        pattern = scene["cfa_pattern"].decode()
        layout = packing.layout_for(pattern)
        if cfa is not None and cfa != layout.kind:
            raise DatasetError(f"{dataset} holds {layout.kind} frames, but a {cfa} model was asked for")
        scene_id = int(scene["scene_id"])
        short = scene["short"]
        for i in range(len(short["ratio"])):
            burst = int(short["burst"][i])
            if not keep_for_protocol(protocol, scene_id, burst):
                continue
            norm = normalize(short["raw"][i], scene["black_levels"], scene["white_level"], layout.period)
            ratio = float(short["ratio"][i])
            packed = amplify(packing.pack(norm, pattern), ratio)
            h, w = layout.cropped_shape(*norm.shape)
            dy, dx = layout.offset
            target = scene["long_srgb"][dy : dy + h, dx : dx + w].astype(np.float32) / 65535.0
            yield EvalPair(packed, target, scene_id, burst, ratio, short["file"][i].decode(), pattern)


def test_pairs(
    dataset: str = "sid/synthetic", split: str = "test", cfa: str | None = None, protocol: str = "all", **kwargs
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(packed_input, target) numpy pairs at full resolution — what benchmarks iterate over."""
    for pair in eval_pairs(dataset, split, protocol=protocol, cfa=cfa, **kwargs):
        yield pair.packed, pair.target


test_pairs.__test__ = False  # not a pytest test despite its name
