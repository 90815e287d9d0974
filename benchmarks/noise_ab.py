"""A/B at an equal training budget: recorded noise vs synthetic noise vs synthetic + procedural scenes.

    python benchmarks/noise_ab.py [--preset mobile] [--steps 300] [--crop 64] [--batch 8] [--lr 1e-3]

Three runs of `keras_lowlight.training.train.train`, one after the other in this one process, with the
same preset, steps, crop, batch, learning rate and seed; only the training data differ:

  recorded              sid/synthetic's stored short frames, photograph scenes only;
  synthetic             fresh calibrated noise every step (`noise="synthetic"`), photographs only;
  synthetic+procedural  fresh noise, photographs + the procedural dead-leaves scenes.

Each model is scored on the sid/synthetic test split (20 scenes of 512×512 from photographs no
training scene comes from) and on the real-sensor check (the Canon EOS 550D DNG darkened at
×100/×250/×300, `keras_lowlight.data.sensor_check`; fetched once by `benchmarks/real_sensor.py`),
beside amplification-only. Writes `benchmarks/results/noise_ab.{md,csv}`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import tensorflow as tf
from _results import write_results
from real_sensor import fetch_canon_dng

from keras_lowlight import data
from keras_lowlight.data import sensor_check, synthetic
from keras_lowlight.evaluation.evaluate import evaluate
from keras_lowlight.training.train import train

ARMS = {
    "recorded": ("recorded", False),
    "synthetic": ("synthetic", False),
    "synthetic+procedural": ("synthetic", True),
}


def train_scenes(with_procedural: bool) -> tf.data.Dataset:
    scenes = data.load_scenes("sid/synthetic", "train")
    if with_procedural:
        return scenes
    photographs = len(synthetic.TRAIN_PHOTOS)  # the photograph scenes come first: ids 1..N
    return scenes.filter(lambda s: s["scene_id"] <= photographs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="mobile")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-images", type=int, default=None, help="limit the test-split images (default all)")
    parser.add_argument("--sensor-crop", type=int, default=1024)
    parser.add_argument("--arms", default=",".join(ARMS))
    args = parser.parse_args()

    dng = fetch_canon_dng()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for arm in args.arms.split(","):
            noise, with_procedural = ARMS[arm]
            start = time.perf_counter()
            result = train(args.preset, train_scenes=train_scenes(with_procedural), noise=noise,
                           crop=args.crop, batch=args.batch, epochs=1, steps_per_epoch=args.steps,
                           learning_rate=args.lr, decay_every=10**8, decay_unit="steps",
                           validation_split=None, seed=args.seed, output=str(Path(tmp) / arm), verbose=0)
            seconds = time.perf_counter() - start
            test = evaluate(result.model, dataset="sid/synthetic", split="test", output=None,
                            limit=args.test_images, progress=False).summary()["overall"]
            sensor = evaluate(result.model, output=None, progress=False,
                              scenes=sensor_check.darkened_scenes(dng, crop=args.sensor_crop)).summary()["overall"]
            row = {"arm": arm, "noise": noise, "procedural_scenes": with_procedural, "train_s": round(seconds, 1),
                   "test_images": test["count"], "test_psnr": test["psnr"], "test_ssim": test["ssim"],
                   "test_amplify_only_psnr": test["baseline_psnr"], "sensor_images": sensor["count"],
                   "sensor_psnr": sensor["psnr"], "sensor_ssim": sensor["ssim"],
                   "sensor_amplify_only_psnr": sensor["baseline_psnr"]}
            print(row, flush=True)
            rows.append(row)
    write_results(
        "noise_ab", rows, title="Recorded vs synthetic noise vs synthetic + procedural scenes, equal budget",
        notes=(f"Preset `{args.preset}`, {args.steps} steps × batch {args.batch} × crop {args.crop} (packed), "
               f"Adam lr {args.lr} (no decay), L1, seed {args.seed}, no validation; each arm trained from scratch "
               "in this one run. Scores: PSNR/SSIM on sRGB at full resolution, sid/synthetic 2.0.0 test split "
               f"({'all' if args.test_images is None else args.test_images} images) and the real-sensor check "
               f"(Canon EOS 550D DNG, central {args.sensor_crop} px, ×100/×250/×300, 2 frames each). A budget "
               "this small says which data helps a model early in training, not where each converges."),
    )


if __name__ == "__main__":
    main()
