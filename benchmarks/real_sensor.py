"""Scores models on a real sensor's scene: the Canon EOS 550D DNG darkened at ×100/×250/×300.

    python benchmarks/real_sensor.py saved_models/mobile_bayer/model.keras [more.keras ...] \
        [--crop 1024] [--bursts 2] [--dng path/to/file.dng] [--ratio true|auto|both]

The scene is `keras_lowlight.data.sensor_check` (the DNG's mosaic as the clean long exposure, short
frames made with the calibrated noise model in the file's own DN scale), evaluated exactly as
`lowlight evaluate` evaluates a test split: full-resolution tiled inference, PSNR / SSIM on
sRGB against LibRaw's render of the DNG, amplification-only beside each model. Models of either
head: an sRGB-head model is scored as it is; a RAW-head model's output (and amplification-only
beside it) is rendered with the file's own colour by `keras_lowlight.runtime.isp`, as `lowlight evaluate`
does (`head` column). `--ratio auto` amplifies every short frame by `keras_lowlight.runtime.exposure`'s
estimate from the frame itself (the `lowlight enhance` default for a file without a SID name)
instead of the true ratio: one `overall` row per model (evaluation buckets by the ratio applied),
and the notes list each frame's true ratio and estimate. `both` scores each model both ways in
one run.
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

from keras_lowlight.data import sensor_check


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
    parser.add_argument("models", nargs="+", help=".keras models (sRGB or RAW head) to score")
    parser.add_argument("--dng", default=None, help="a well exposed Bayer RAW; default: the Canon EOS 550D DNG")
    parser.add_argument("--crop", type=int, default=1024, help="central crop side in pixels (0: whole frame)")
    parser.add_argument("--bursts", type=int, default=2, help="noisy frames per ratio (each its own ISO draw)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ratio", choices=("true", "auto", "both"), default="true",
                        help="amplify by the true ratio, by --ratio auto's estimate, or score both")
    parser.add_argument("--note", default="", help="a sentence for the result file (e.g. where a model comes from)")
    parser.add_argument("-o", "--output", default="runs/real_sensor", help="per-model CSV and contact sheets")
    args = parser.parse_args()

    from keras_lowlight.data import scenes_from_examples
    from keras_lowlight.evaluation.evaluate import evaluate, load_model
    from keras_lowlight.models import head_of

    dng = Path(args.dng) if args.dng else fetch_canon_dng()
    example = sensor_check.darkened_example(dng, bursts=args.bursts, seed=args.seed, crop=args.crop or None)
    rules = ("true", "auto") if args.ratio == "both" else (args.ratio,)
    estimates = auto_ratios(example) if "auto" in rules else []
    rows = []
    for model_path in args.models:
        model = load_model(model_path)
        head = head_of(model)
        for rule in rules:
            scene = with_ratios(example, estimates) if rule == "auto" else example
            report = evaluate(model, scenes=scenes_from_examples([scene]), head=head,
                              output=Path(args.output) / f"{Path(model_path).parent.name}_{rule}", progress=False)
            for bucket, numbers in report.summary().items():
                if rule == "auto" and bucket != "overall":
                    continue  # evaluate buckets by the ratio applied: here the estimate, not the true one
                rows.append({"model": model_path, "head": head, "ratio_rule": rule, "ratio": bucket,
                             **{k: round(v, 4) for k, v in numbers.items()}})
            print(report.table())
    auto_note = ""
    if estimates:
        pairs = ", ".join(f"×{true:g} → ×{auto:.1f}" for true, auto in estimates)
        auto_note = f" `--ratio auto` estimates per frame (true → estimated): {pairs}."
    write_results(
        "real_sensor", rows, title="Real-sensor check: Canon EOS 550D DNG darkened with the noise model",
        notes=(f"Scene: {dng.name} ({example['camera']}, {example['cfa_pattern']}), central crop "
               f"{args.crop or 'none'} px, {args.bursts} noisy frames per ratio (×100/×250/×300), seed "
               f"{args.seed}; noise: Sony a7S II fits in the file's DN scale (no 550D calibration at hand). "
               "PSNR/SSIM on sRGB vs LibRaw's render of the DNG; baseline = amplification-only with "
               "oracle colour (keras_lowlight.evaluation.baseline) for an sRGB-head model, the file's colour for a RAW-head one."
               + auto_note + (f" {args.note}" if args.note else "")),
    )


def auto_ratios(example: dict) -> list[tuple[float, float]]:
    """(true ratio, `--ratio auto` estimate) of each short frame of a `sid`-schema example."""
    import numpy as np

    from keras_lowlight.runtime.exposure import estimate_ratio
    from keras_lowlight.runtime.raw import RawImage

    short = example["short"]
    out = []
    for i in range(len(short["ratio"])):
        image = RawImage(mosaic=np.asarray(short["raw"][i]), cfa_pattern=example["cfa_pattern"],
                         black_levels=np.asarray(example["black_levels"]), white_level=int(example["white_level"]),
                         path=str(short["file"][i]))
        out.append((float(short["ratio"][i]), estimate_ratio(image)))
    return out


def with_ratios(example: dict, estimates: list[tuple[float, float]]) -> dict:
    """The example with each short frame amplified by its estimate instead of the true ratio."""
    import numpy as np

    short = {**example["short"], "ratio": np.asarray([auto for _, auto in estimates], np.float32)}
    return {**example, "short": short}


if __name__ == "__main__":
    main()
