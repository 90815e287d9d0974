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

from keras_lowlight.data import noise as noise_lib
from keras_lowlight.runtime import packing
from keras_lowlight.runtime.conventions import MAX_RATIO, amplify  # one home for the amplification rule
from keras_lowlight.runtime.errors import LowlightError
from keras_lowlight.runtime.raw import normalize, normalize_tf

MISALIGNED_SCENES = (10034, 10045, 10172)  # Sony test scenes Maharjan et al. drop
PROTOCOLS = ("sid", "maharjan", "all")
AUTOTUNE = tf.data.AUTOTUNE


class DatasetError(LowlightError):
    """A dataset cannot be loaded or does not fit the requested pipeline."""


def split_fingerprint(dataset: str = "sid/synthetic", split: str = "test", data_dir: str | None = None,
                      manual_dir: str | None = None) -> str:
    """sha256 (first 16 hex digits) of a split's content: every scene's id, RAW frames and colour
    metadata, in scene-id order. A model card records it beside the dataset version: a card can
    only be re-measured on the data it was measured on, and two builds with one version number can
    differ (the embedded `sid/synthetic` is generated from bundled photographs and seeded noise, so
    a change in how a library decodes a photograph changes the split without changing the version)."""
    import hashlib

    scenes = sorted(load_scenes(dataset, split, data_dir=data_dir, manual_dir=manual_dir).as_numpy_iterator(),
                    key=lambda scene: int(scene["scene_id"]))
    digest = hashlib.sha256()
    for scene in scenes:
        for value in (scene["scene_id"], scene["long_raw"], scene["short"]["raw"], scene["white_balance"],
                      scene["xyz_to_cam"], scene["black_levels"], scene["white_level"]):
            digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()[:16]


def load_scenes(
    dataset: str = "sid/synthetic",
    split: str = "train",
    data_dir: str | None = None,
    manual_dir: str | None = None,
    shuffle_files: bool = False,
    seed: int | None = None,
) -> tf.data.Dataset:
    """`tfds.load` of a `sid/*` config (prepared on first use), one element per scene."""
    import tensorflow_datasets as tfds

    import tfds_sid  # noqa: F401  (registers the `sid` builder)

    kwargs = {}
    if seed is not None:
        kwargs["read_config"] = tfds.ReadConfig(shuffle_seed=seed)
    if manual_dir:
        kwargs["download_and_prepare_kwargs"] = {
            "download_config": tfds.download.DownloadConfig(manual_dir=manual_dir)
        }
    try:
        return tfds.load(dataset, split=split, data_dir=data_dir, shuffle_files=shuffle_files, **kwargs)
    except (AssertionError, ValueError, KeyError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DatasetError(f"cannot load {dataset!r} split {split!r}: {first_line}") from None


NOISE_MODES = ("recorded", "synthetic")
TARGETS = ("srgb", "raw")
# Synthetic-noise ratios: half the draws at SID's own ratios, half log-uniform over a range a
# little wider than SID's (so ×300 is inside it, not at its edge).
SID_RATIOS = (100.0, 250.0, 300.0)
RATIO_RANGE = (50.0, 350.0)
P_SID_RATIO = 0.5


def scene_pairs(scenes: tf.data.Dataset) -> tf.data.Dataset:
    """Scenes → one element per short frame, each carrying its scene's ground truth."""

    def expand(scene):
        shared = {key: scene[key] for key in _SCENE_KEYS if key in scene}
        frames = tf.data.Dataset.from_tensor_slices(scene["short"])
        return frames.map(lambda f: {**f, **shared})

    return scenes.flat_map(expand)


_SCENE_KEYS = ("long_srgb", "long_raw", "black_levels", "white_level", "cfa_pattern", "scene_id")


def clean_scenes(scenes: tf.data.Dataset) -> tf.data.Dataset:
    """Scenes → their clean long exposure, repeated once per short frame of the scene.

    The repetition keeps every scene's weight what it is in `recorded` mode, so the two noise
    modes see the same scenes equally often and differ only in where the noise comes from.
    """

    def expand(scene):
        shared = {key: scene[key] for key in _SCENE_KEYS}
        count = tf.shape(scene["short"]["ratio"], out_type=tf.int64)[0]
        return tf.data.Dataset.from_tensors(shared).repeat(count)

    return scenes.flat_map(expand)


def scenes_from_examples(examples: list[dict]) -> tf.data.Dataset:
    """In-memory scenes (numpy dicts with the `sid` schema) as a scene dataset, for sets that
    are made on the spot rather than prepared by TFDS (e.g. `keras_lowlight.data.sensor_check`)."""

    def spec(value):
        value = np.asarray(value)
        dtype = tf.string if value.dtype.kind in "USO" else tf.as_dtype(value.dtype)
        return tf.TensorSpec([None] * value.ndim, dtype)

    signature = tf.nest.map_structure(spec, examples[0])
    return tf.data.Dataset.from_generator(lambda: iter(examples), output_signature=signature)


def peek_cfa_pattern(scenes: tf.data.Dataset) -> str:
    """CFA layout of a dataset (read from its first scene; every SID config has one camera)."""
    return peek_scene(scenes)["cfa_pattern"]


def peek_scene(scenes: tf.data.Dataset) -> dict:
    """CFA layout and camera of a dataset's first scene (every SID config has one camera)."""
    for scene in scenes.take(1):
        camera = scene["camera"].numpy().decode() if "camera" in scene else ""
        return {"cfa_pattern": scene["cfa_pattern"].numpy().decode(), "camera": camera}
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


def draw_ratio_tf(seed) -> tf.Tensor:
    """One amplification ratio: SID's ×100/×250/×300 with probability ½, else log-uniform 50–350."""
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3)
    use_sid = tf.random.stateless_uniform([], seeds[0]) < P_SID_RATIO
    sid = tf.gather(tf.constant(SID_RATIOS), tf.random.stateless_uniform([], seeds[1], 0, len(SID_RATIOS), tf.int32))
    low, high = np.log(RATIO_RANGE[0]), np.log(RATIO_RANGE[1])
    continuous = tf.exp(tf.random.stateless_uniform([], seeds[2], low, high))
    return tf.where(use_sid, sid, continuous)


def synthesize_short_dn_tf(clean, ratio, params: dict, seed) -> tf.Tensor:
    """Clean normalised mosaic → the dark frame a camera records, in DN above black.

    ELD's model through `noise.add_noise_tf` (Poisson shot, Tukey-λ read, row noise), quantised
    by rounding to whole DN as the camera's ADC does (Var += 1/12). Not clipped: the caller
    clips at black and white like the file format.
    """
    return tf.round(noise_lib.add_noise_tf(clean, ratio, params, seed=seed, quantization=False))


def _synthetic_short(clean, ratio, params: dict, seed) -> tf.Tensor:
    """Normalised dark frame as `normalize` reads it from a file: clipped to [0, 1]."""
    scale = params["white_level"] - params["black_level"]
    return tf.clip_by_value(synthesize_short_dn_tf(clean, ratio, params, seed) / scale, 0.0, 1.0)


def _augment(x: tf.Tensor, y: tf.Tensor, seed=None) -> tuple[tf.Tensor, tf.Tensor]:
    """The same random flips (both spatial axes) and transpose on input and target.

    The authors' released code flips axis 0 of a batch of one — a no-op — so only one flip
    ever happened there; here both spatial axes flip independently. `seed` (shape [2]) makes
    the draw stateless and reproducible.
    """
    if seed is None:
        flips = tf.random.uniform([3]) < 0.5
    else:
        flips = tf.random.stateless_uniform([3], tf.cast(seed, tf.int64)) < 0.5
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
    noise: str = "recorded",
    target: str = "srgb",
    seed: int | None = None,
    noise_model: noise_lib.NoiseModel | None = None,
) -> tf.data.Dataset:
    """`(packed_input, target)` batches for `model.fit` / `model.evaluate`.

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
        noise: "recorded" — the stored short exposures (SID's pairs); "synthetic" — fresh noise
            on the clean long exposure for every element (ELD's recipe): a ratio
            (`draw_ratio_tf`), one noise parameter set of the camera's calibrated fits, darken,
            Poisson + Tukey-λ read + row noise, rounding to DN, clip, re-amplify, pack.
        target: "srgb" — the scene's ground-truth render (N, s·H, s·W, 3); "raw" — the clean long
            exposure cropped like the input, normalised with the file's black/white levels and
            packed (same shape as the input), for a RAW-domain head.
        seed: makes every random choice (crops, flips, ratios, noise, shuffling) stateless and
            reproducible: the same seed gives the same batches. None: a seed from numpy's global
            generator (so `keras.utils.set_random_seed` still fixes it).
        noise_model: noise profile for `synthetic`; default from the dataset's camera
            (`noise.resource_for_camera`).
    """
    if noise not in NOISE_MODES:
        raise DatasetError(f"unknown noise mode {noise!r}; choose from {NOISE_MODES}")
    if target not in TARGETS:
        raise DatasetError(f"unknown target {target!r}; choose from {TARGETS}")
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    if scenes is None:
        scenes = load_scenes(dataset, split, data_dir=data_dir, manual_dir=manual_dir, shuffle_files=training,
                             seed=seed)
    info = peek_scene(scenes)
    pattern = info["cfa_pattern"]
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
    synthetic = noise == "synthetic"
    if (synthetic or target == "raw") and "long_raw" not in scenes.element_spec:
        raise DatasetError(
            f"noise={noise!r}, target={target!r} need the clean long exposure `long_raw` "
            "(sid dataset version ≥ 1.1.0; rebuild the dataset)"
        )
    if synthetic:
        model = noise_model or noise_lib.NoiseModel.load(noise_lib.resource_for_camera(info["camera"], layout.kind))
        elements = clean_scenes(scenes)
    else:
        elements = scene_pairs(scenes)
    if training and crops_per_pair > 1:
        elements = elements.flat_map(lambda p: tf.data.Dataset.from_tensors(p).repeat(crops_per_pair))
    repeat = training if repeat is None else repeat
    if repeat:
        elements = elements.repeat()  # before the index: every pass draws new crops and noise

    def to_example(index, element):
        # One stateless seed per element: reproducible whatever the parallelism.
        seeds = tf.random.experimental.stateless_split(tf.stack([tf.constant(seed, tf.int64), index]), 5)
        source = element["long_raw"] if synthetic else element["raw"]
        source = source[dy:, dx:]
        gt = element["long_srgb"][dy:, dx:]
        h, w = tf.shape(source)[0], tf.shape(source)[1]
        if crop is None:
            ch, cw = h // period * period, w // period * period
            y0 = x0 = tf.constant(0)
        else:
            ch = cw = crop * scale
            tf.debugging.assert_greater_equal(
                tf.minimum(h, w), ch, message=f"crop of {crop} packed px is larger than a frame"
            )
            if training:
                corner = tf.random.stateless_uniform([2], seeds[0], 0, 2**30, tf.int32)
                y0 = corner[0] % ((h - ch) // period + 1) * period
                x0 = corner[1] % ((w - cw) // period + 1) * period
            else:
                y0 = (h - ch) // 2 // period * period
                x0 = (w - cw) // 2 // period * period
        black, white = element["black_levels"], element["white_level"]
        window = source[y0 : y0 + ch, x0 : x0 + cw]
        if synthetic:
            clean = normalize_tf(window, black, white, period)
            ratio = draw_ratio_tf(seeds[1])
            params = noise_lib.sample_params_tf(model, seeds[2])
            # Darken in the file's own DN scale (its black / white, not the profile's).
            params["black_level"] = tf.reduce_mean(tf.cast(black, tf.float32))
            params["white_level"] = tf.cast(white, tf.float32)
            short = _synthetic_short(clean, ratio, params, seeds[3])
            # The model's input rule (`conventions.amplify`): ×min(ratio, 300), as at inference.
            x = _amplify(packing.pack_tf(short, pattern), ratio)
        else:
            x = _amplify(packing.pack_tf(normalize_tf(window, black, white, period), pattern), element["ratio"])
        if target == "raw":
            clean_window = element["long_raw"][dy:, dx:][y0 : y0 + ch, x0 : x0 + cw]
            y = packing.pack_tf(normalize_tf(clean_window, black, white, period), pattern)
        else:
            y = tf.cast(gt[y0 : y0 + ch, x0 : x0 + cw], tf.float32) / 65535.0
        if training:
            x, y = _augment(x, y, seeds[4])
        if crop is not None:
            x = tf.ensure_shape(x, [crop, crop, layout.channels])
            out = crop * scale if target == "srgb" else crop
            y = tf.ensure_shape(y, [out, out, 3 if target == "srgb" else layout.channels])
        return x, y

    ds = elements.enumerate().map(to_example, num_parallel_calls=AUTOTUNE, deterministic=True)
    if training:
        ds = ds.shuffle(shuffle_buffer, seed=seed)
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
    # The clean long exposure packed like `packed` (normalised, not amplified) and the file's
    # colour, for RAW-domain heads; None for datasets older than sid 1.1.0.
    target_raw: np.ndarray | None = None
    white_balance: np.ndarray | None = None
    xyz_to_cam: np.ndarray | None = None


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
        target_raw = None
        if "long_raw" in scene:
            long_norm = normalize(scene["long_raw"], scene["black_levels"], scene["white_level"], layout.period)
            target_raw = packing.pack(long_norm, pattern).astype(np.float32)
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
            yield EvalPair(packed, target, scene_id, burst, ratio, short["file"][i].decode(), pattern, target_raw,
                           scene.get("white_balance"), scene.get("xyz_to_cam"))


def test_pairs(
    dataset: str = "sid/synthetic", split: str = "test", cfa: str | None = None, protocol: str = "all", **kwargs
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(packed_input, target) numpy pairs at full resolution — what benchmarks iterate over."""
    for pair in eval_pairs(dataset, split, protocol=protocol, cfa=cfa, **kwargs):
        yield pair.packed, pair.target


test_pairs.__test__ = False  # not a pytest test despite its name
