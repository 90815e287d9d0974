"""Scores models on a real sensor's scene: the Canon EOS 550D DNG darkened at ×100/×250/×300.

    python benchmarks/real_sensor.py saved_models/mobile_bayer/model.keras [more.keras ...] \
        [--crop 1024] [--bursts 2] [--dng path/to/file.dng]

The scene is `keras_lowlight.sensor_check` (the DNG's mosaic as the clean long exposure, short
frames made with the calibrated noise model in the file's own DN scale), evaluated exactly as
`lowlight evaluate` evaluates a test split: full-resolution tiled inference, PSNR / SSIM on
sRGB, amplification-only beside each model, rendered like the model (`keras_lowlight.evaluate`: oracle
colour fit for an sRGB head, the same ISP with the file's colour for a RAW head).
Without `--dng`, the pinned `tinydng==0.1.0` sdist is fetched from PyPI once into
`~/.cache/keras_lowlight/tinydng/` (a benchmark may fetch; the product never does).
Writes `benchmarks/results/real_sensor.{md,csv}` (benchmarks/_results.py).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from _results import write_results

from keras_lowlight import sensor_check


def fetch_canon_dng() -> Path:
    """The tinydng 0.1.0 sdist's colorchart.dng, downloaded once into the user's cache."""
    target = sensor_check.default_dng()
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", "tinydng",
                        "tinydng==0.1.0", "-d", tmp], check=True)
        with tarfile.open(next(Path(tmp).glob("tinydng-0.1.0.tar.gz"))) as tar:
            target.write_bytes(tar.extractfile(tar.getmember("tinydng-0.1.0/colorchart.dng")).read())
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help=".keras models to score")
    parser.add_argument("--dng", default=None, help="a well exposed Bayer RAW; default: the Canon EOS 550D DNG")
    parser.add_argument("--crop", type=int, default=1024, help="central crop side in pixels (0: whole frame)")
    parser.add_argument("--bursts", type=int, default=2, help="noisy frames per ratio (each its own ISO draw)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", default="runs/real_sensor", help="per-model CSV and contact sheets")
    args = parser.parse_args()

    from keras_lowlight.evaluate import evaluate

    dng = Path(args.dng) if args.dng else fetch_canon_dng()
    example = sensor_check.darkened_example(dng, bursts=args.bursts, seed=args.seed, crop=args.crop or None)
    rows = []
    for model_path in args.models:
        scenes = sensor_check.darkened_scenes(dng, bursts=args.bursts, seed=args.seed, crop=args.crop or None)
        report = evaluate(model_path, scenes=scenes, output=Path(args.output) / Path(model_path).parent.name,
                          progress=False)
        for bucket, numbers in report.summary().items():
            rows.append({"model": model_path, "ratio": bucket, **{k: round(v, 4) for k, v in numbers.items()}})
        print(report.table())
    write_results(
        "real_sensor", rows, title="Real-sensor check: Canon EOS 550D DNG darkened with the noise model",
        notes=(f"Scene: {dng.name} ({example['camera']}, {example['cfa_pattern']}), central crop "
               f"{args.crop or 'none'} px, {args.bursts} noisy frames per ratio (×100/×250/×300), seed "
               f"{args.seed}; noise: Sony a7S II fits in the file's DN scale (no 550D calibration at hand). "
               "PSNR/SSIM on sRGB; baseline = amplification-only rendered like the model (oracle colour fit "
               "for an sRGB head; for a RAW head the same ISP with the file's colour, against the clean "
               "mosaic through that ISP)."),
    )


if __name__ == "__main__":
    main()
