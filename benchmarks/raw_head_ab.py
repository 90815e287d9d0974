"""RAW-head designs of `mobile_unet_s` at an equal training budget, scored like a user sees them.

    python benchmarks/raw_head_ab.py [--epochs 4 --steps-per-epoch 500 --split validation --runs runs/ab]

Why: the first long RAW-head run (input + learned correction, everything below the packed
resolution) plateaued at a validation PSNR BM3D beats by several dB. The hypothesis measured
here: with a residual output the network must reproduce the noise itself, exactly, to cancel
it — through a half-resolution bottleneck (a stride-2 convolution and a ReLU are the first
layers) it cannot, so noise stays. Predicting the clean RAW directly, and/or keeping a level at
the packed resolution, removes that limit. Three variants, everything else equal:

* `residual`          — the first run's design (output = input + correction);
* `direct`            — the clean RAW predicted directly;
* `fullres_direct`    — + a 16-channel level at the packed resolution, direct output.

Each trains with `keras_lowlight.training.train.train` (the recipe of `configs/mobile_unet_s_bayer.json`:
fresh synthetic noise on the clean long exposures, μ-law L1, Adam 1e-3, batch 8, crop 64, seed 0)
for the same epochs × steps, into `<runs>/<variant>/` (resumable; a finished run is reused).
Scored on every pair of `--split` (default `validation`: the variant is CHOSEN here, so not on
test) at full resolution, on what a user sees — every image rendered by the project's ISP with
the file's own white balance and colour matrix (`isp.render_packed`) — PSNR / SSIM / mean
CIEDE2000 ΔE against the clean long exposure rendered the same way; plus PSNR in the packed
linear RAW domain (what training's `val_psnr` measures). Amplification-only and BM3D
(`keras_lowlight.evaluation.baseline.bm3d_packed`, noise estimated per frame) rendered the same way.
Writes `benchmarks/results/raw_head_ab.{md,csv}` and `raw_head_ab.png`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import markdown_table, write_results  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
VARIANTS = {
    "residual": {},
    "direct": {"raw_residual": False},
    "fullres_direct": {"full_res_filters": 16, "raw_residual": False},
}


def recipe(args, name: str) -> dict:
    """The committed recipe with this benchmark's budget and the variant's overrides."""
    config = json.loads((REPO / "configs" / "mobile_unet_s_bayer.json").read_text())
    config = {k: v for k, v in config.items() if not k.startswith("_")}
    config.update(epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, early_stop_patience=None,
                  decay_every=10**9, output=str(Path(args.runs) / name), model_overrides=VARIANTS[name])
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--steps-per-epoch", type=int, default=500)
    parser.add_argument("--split", default="validation")
    parser.add_argument("--runs", default="runs/ab", help="run folders (resumed / reused when present)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--sheet", type=int, default=3, help="pairs in the picture")
    parser.add_argument("--score-only", action="store_true",
                        help="score the runs' best.keras as they are (no training, no resuming)")
    args = parser.parse_args()

    from keras_lowlight import data, models
    from keras_lowlight.evaluation.baseline import bm3d_packed
    from keras_lowlight.evaluation.evaluate import contact_sheet, keras_predictor, load_model
    from keras_lowlight.runtime.isp import render_packed
    from keras_lowlight.models.metrics import delta_e2000_np, psnr_np, ssim_np
    from keras_lowlight.training.train import train

    trained = {}
    for name in args.variants:
        run = Path(args.runs) / name
        if not args.score_only:
            run = train(verbose=0, **recipe(args, name)).output
        timing = json.loads((run / "train_time.json").read_text())
        trained[name] = (load_model(run / "best.keras"), timing)

    scores: dict[str, list[tuple[float, ...]]] = {}
    sheet, bm3d_seconds = [], 0.0

    def score(name, truth, image, truth_raw, image_raw):
        scores.setdefault(name, []).append((psnr_np(truth, image), ssim_np(truth, image),
                                            delta_e2000_np(truth, image), psnr_np(truth_raw, image_raw)))

    pairs = list(data.eval_pairs("sid/synthetic", args.split, protocol="all"))
    predict = {name: keras_predictor(model) for name, (model, _) in trained.items()}
    for pair in pairs:
        h, w = pair.target_raw.shape[:2]

        def rendered(packed):
            return render_packed(np.clip(packed[:h, :w], 0, 1), pair.cfa_pattern, pair.white_balance, pair.xyz_to_cam)

        truth = rendered(pair.target_raw)
        amplified = np.clip(pair.packed[:h, :w], 0, 1)
        start = time.perf_counter()
        denoised = np.clip(bm3d_packed(pair.packed)[:h, :w], 0, 1)
        bm3d_seconds += time.perf_counter() - start
        images = {"amplification-only": amplified, "BM3D": denoised}
        images.update({name: np.clip(fn(pair.packed)[:h, :w], 0, 1) for name, fn in predict.items()})
        renders = {name: rendered(raw) for name, raw in images.items()}
        for name, raw in images.items():
            score(name, truth, renders[name], pair.target_raw, raw)
        if len(sheet) < args.sheet:
            sheet.append((f"{pair.file} x{pair.ratio:g}", [*renders.values(), truth]))

    rows = []
    for name, values in scores.items():
        psnr, ssim, delta_e, psnr_raw = (float(np.mean(v)) for v in zip(*values))
        row = {"method": name, "images": len(values), "psnr": psnr, "ssim": ssim, "deltaE": delta_e,
               "psnr_raw_domain": psnr_raw}
        if name in trained:
            model, timing = trained[name]
            row.update(params=model.count_params(),
                       # per sensor (= rendered sRGB) megapixel: a packed Bayer pixel is 2 × 2 of them
                       gmac_per_sensor_mp=models.macs_per_output_megapixel(model, input_hw=(64, 64)) / 4 / 1e9,
                       train_steps=timing["steps"], train_s=timing["seconds"])
        rows.append(row)
    columns = ("amplification-only", "BM3D", *trained, "truth")
    contact_sheet(sheet, RESULTS / "raw_head_ab.png", columns=columns, width=200)
    steps = sorted({timing["steps"] for _, timing in trained.values()})
    notes = (f"Budget per variant: {' / '.join(map(str, steps))} optimizer steps (train_steps column; batch 8, crop 64, "
             "Adam 1e-3, seed 0, fresh synthetic noise); best.keras by validation PSNR; train_s is wall time on a "
             f"machine shared with other jobs, not a speed measurement. Scored on {len(pairs)} pairs of "
             f"sid/synthetic:{args.split}, full frames; every image rendered by isp.render_packed with the file's "
             f"colour; truth = the clean long exposure rendered the same way. psnr_raw_domain: packed linear RAW "
             f"(what val_psnr measures). BM3D: {bm3d_seconds / len(pairs):.1f} s per frame. Picture: "
             "raw_head_ab.png (columns: " + ", ".join(columns) + ").\n\n"
             + __doc__.split("\n\n", 2)[1])
    write_results("raw_head_ab", rows, title="RAW-head designs of mobile_unet_s at an equal training budget",
                  notes=notes, markdown=markdown_table(rows))


if __name__ == "__main__":
    main()
