"""The shipped preset with the RAW head vs with the sRGB head, at an equal training budget.

    python benchmarks/heads_ab.py [--preset mobile_unet_s --noise synthetic --steps 1500 --batch 8 --crop 64
                                   --lr 1e-3 --seed 0]

The RAW head of a `mobile_unet*` preset predicts the clean RAW directly (`raw_residual=False`, the
shipped recipe's choice: benchmarks/results/raw_head_ab.md).

Both heads get the same budget in one run: same preset, data (`sid/synthetic` train split,
`make_dataset(..., seed=SEED)`: the same crops in the same order), steps, batch, crop, Adam
learning rate and initial seed. Each head trains with its own registered loss (sRGB: L1, the
paper's; RAW: μ-law tone-mapped L1, `keras_lowlight.models.losses.ToneMappedL1`) against its own target
(the scene's LibRaw-rendered sRGB / the clean long-exposure RAW).

Scored on every pair of the `sid/synthetic` test split at full resolution (Keras, the shared
tiler), PSNR / SSIM / mean CIEDE2000 ΔE against:
* `libraw truth`: the dataset's ground truth (LibRaw's render of the long exposure, SID's);
  the RAW head's output is rendered by the project's ISP with the file's colour
  (`isp.render_packed`), so its numbers include the ISP-vs-LibRaw gap (the `ISP ceiling` row:
  the clean long exposure itself rendered by the ISP);
* `isp truth`: the clean long exposure rendered by the same ISP — like with like for the RAW head
  (what `lowlight evaluate` reports for a RAW-head model).
Beside them, amplification-only and BM3D (both with the oracle colour fit to the LibRaw truth).
Writes `benchmarks/results/heads_ab.{md,csv}` and `heads_ab.png` (contact sheet).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import markdown_table, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def train(head: str, args) -> tuple[object, float, float]:
    import keras

    from keras_lowlight import data, models
    from keras_lowlight.training.train import compile_model

    keras.utils.set_random_seed(args.seed)
    overrides = {"raw_residual": False} if head == "raw" and args.preset.startswith("mobile_unet") else {}
    model = models.get(args.preset, "bayer", head=head, **overrides)
    dataset = data.make_dataset("sid/synthetic", "train", crop=args.crop, batch=args.batch, training=True,
                                target=head, seed=args.seed, noise=args.noise)
    compile_model(model, args.lr)
    start = time.perf_counter()
    history = model.fit(dataset, epochs=1, steps_per_epoch=args.steps, verbose=0)
    return model, time.perf_counter() - start, float(history.history["loss"][-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="mobile_unet_s")
    parser.add_argument("--noise", default="synthetic", choices=("synthetic", "recorded"))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sheet", type=int, default=3, help="test pairs in the picture")
    args = parser.parse_args()

    from keras_lowlight import data
    from keras_lowlight.evaluation.baseline import amplify_only, bm3d_timed, render_oracle
    from keras_lowlight.evaluation.evaluate import contact_sheet, keras_predictor
    from keras_lowlight.runtime.isp import render_packed
    from keras_lowlight.models.metrics import delta_e2000_np, psnr_np, ssim_np

    trained = {head: train(head, args) for head in ("srgb", "raw")}
    predict = {head: keras_predictor(model) for head, (model, _, _) in trained.items()}

    scores: dict[str, list[tuple[float, float, float]]] = {}
    sheet = []

    def score(name: str, truth: np.ndarray, image: np.ndarray) -> None:
        scores.setdefault(name, []).append((psnr_np(truth, image), ssim_np(truth, image), delta_e2000_np(truth, image)))

    pairs = list(data.eval_pairs("sid/synthetic", "test", protocol="all"))
    for pair in pairs:
        libraw = pair.target
        isp_truth = render_packed(pair.target_raw, pair.cfa_pattern, pair.white_balance, pair.xyz_to_cam)
        srgb = np.clip(predict["srgb"](pair.packed), 0, 1)
        raw = render_packed(np.clip(predict["raw"](pair.packed), 0, 1), pair.cfa_pattern, pair.white_balance,
                            pair.xyz_to_cam)
        amplified = amplify_only(pair.packed, libraw)
        bm3d = render_oracle(bm3d_timed(pair.packed)[0], libraw)  # LOWLIGHT_BM3D_CACHE reuses results
        score(f"{args.preset} head=srgb | libraw truth", libraw, srgb)
        score(f"{args.preset} head=raw (ISP render) | libraw truth", libraw, raw)
        score(f"{args.preset} head=raw (ISP render) | isp truth", isp_truth, raw)
        score("amplification-only (oracle colour) | libraw truth", libraw, amplified)
        score("BM3D (oracle colour) | libraw truth", libraw, bm3d)
        score("ISP ceiling: clean long exposure via ISP | libraw truth", libraw, isp_truth)
        if len(sheet) < args.sheet:
            sheet.append((f"{pair.file} x{pair.ratio:g}", [amplified, srgb, raw, libraw]))

    rows = []
    for name, values in scores.items():
        method, truth = name.split(" | ")
        psnr, ssim, delta_e = (float(np.mean(v)) for v in zip(*values))
        rows.append({"method": method, "truth": truth, "images": len(values), "psnr": psnr, "ssim": ssim,
                     "deltaE": delta_e})
    for head, (model, seconds, loss) in trained.items():
        rows.append({"method": f"training {args.preset} head={head}", "truth": "", "images": 0,
                     "psnr": float("nan"), "ssim": float("nan"), "deltaE": float("nan"),
                     "train_s": seconds, "final_loss": loss, "params": model.count_params()})
    contact_sheet(sheet, RESULTS / "heads_ab.png",
                  columns=("amplified (oracle colour)", "head=srgb", "head=raw + ISP", "LibRaw truth"), width=200)
    notes = (f"Budget per head: {args.steps} steps × batch {args.batch} × crop {args.crop} packed px, Adam "
             f"{args.lr}, seed {args.seed}, same crops (make_dataset seed); sRGB head: L1; RAW head: μ-law L1; noise: {args.noise}. "
             f"Test split: {len(pairs)} pairs, full frames. Picture: heads_ab.png.\n\n"
             + __doc__.split("\n\n", 2)[2].rsplit("\n", 2)[0])
    write_results("heads_ab", rows, title=f"{args.preset}: RAW head vs sRGB head at an equal training budget",
                  notes=notes, markdown=markdown_table(rows))


if __name__ == "__main__":
    main()
