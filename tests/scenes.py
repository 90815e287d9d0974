"""In-memory scenes with the `sid` TFDS schema, for pipeline tests that need no prepared dataset."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_lowlight.runtime import packing


def make_scenes(
    count: int = 3,
    shape: tuple[int, int] = (96, 128),
    cfa_pattern: str = "RGGB",
    ratios: tuple[float, ...] = (100.0, 300.0),
    first_scene: int = 10001,
    seed: int = 0,
) -> tf.data.Dataset:
    """Scenes whose ground truth is a smooth colour image and whose shorts are dark noisy mosaics.

    The mosaic value at each site is the ground truth's channel for that site's colour, so a
    pipeline that misaligns packing and target produces measurably wrong pairs.
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    p = int(len(cfa_pattern) ** 0.5)
    grid = np.array(list(cfa_pattern)).reshape(p, p)
    colour_index = np.vectorize({"R": 0, "G": 1, "B": 2}.get)(np.tile(grid, (h // p + 1, w // p + 1))[:h, :w])
    elements = []
    for i in range(count):
        yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
        base = np.stack([0.5 + 0.4 * np.sin(3 * xx + i), 0.5 + 0.4 * np.cos(2 * yy + i), 0.3 + 0.6 * xx * yy], -1)
        gt = (np.clip(base, 0, 1) * 65535).astype(np.uint16)
        linear = np.take_along_axis(base, colour_index[..., None], -1)[..., 0]
        raws = []
        for r in ratios:
            dn = 512 + linear * (16383 - 512) / r
            raws.append(np.clip(rng.poisson(dn) + rng.normal(0, 2, dn.shape), 0, 16383).astype(np.uint16))
        n = len(ratios)
        elements.append({
            "scene_id": np.int32(first_scene + i),
            "camera": "Sony ILCE-7SM2",
            "cfa_pattern": cfa_pattern,
            "black_levels": np.full(p * p, 512, np.float32),
            "white_level": np.float32(16383),
            "long_exposure": np.float32(10.0),
            "long_file": f"{first_scene + i:05d}_00_10s.ARW",
            "long_srgb": gt,
            "long_raw": np.rint(512 + linear * (16383 - 512)).astype(np.uint16),
            "white_balance": np.asarray([2.0, 1.0, 1.5], np.float32),
            "xyz_to_cam": np.eye(3, dtype=np.float32),
            "short": {
                "raw": np.stack(raws),
                "exposure": np.asarray([10.0 / r for r in ratios], np.float32),
                "ratio": np.asarray(ratios, np.float32),
                "iso": np.full(n, 3200, np.int32),
                "file": np.asarray([f"{first_scene + i:05d}_{b:02d}_{10 / r:g}s.ARW" for b, r in enumerate(ratios)]),
                "burst": np.arange(n, dtype=np.int32),
            },
        })

    def gen():
        yield from elements

    first = elements[0]
    signature = tf.nest.map_structure(
        lambda v: tf.TensorSpec(shape=[None] * np.ndim(v), dtype=tf.as_dtype(np.asarray(v).dtype)
                                if not isinstance(v, str) and np.asarray(v).dtype.kind != "U" else tf.string),
        first,
    )
    return tf.data.Dataset.from_generator(gen, output_signature=signature)


assert packing  # imported for readers: the layout these scenes follow
