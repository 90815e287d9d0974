"""`--ratio auto` on the synthetic frames: estimated vs true amplification ratio, and what the
estimate costs in PSNR through the shipped model.

Calibration: `exposure.TARGET_SIGNAL` must be the median, over the clean long exposures of the
`sid/synthetic` training scenes (`keras_lowlight.data.synthetic`, the DNGs the models train on), of
the rule's statistic (mean black-subtracted level, unclipped); this script recomputes it and
prints both. Evaluation: every short frame of the test and validation scenes. True ratio =
long / short exposure (SID's, capped at 300). PSNR / ΔE of the shipped `mobile_bayer` int8
model (LiteRT, the `lowlight enhance` default) against the scene's ground truth (LibRaw's render
of the long exposure), once with the true ratio and once with the estimated one.

    python benchmarks/auto_ratio.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_results  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MODEL = REPO / "saved_models" / "mobile_bayer" / "model_int8.tflite"
WITHIN = 1.3


def main() -> None:
    from keras_lowlight.runtime import exposure, engine as runtime
    from keras_lowlight.data import synthetic
    from keras_lowlight.runtime.conventions import MAX_RATIO, amplify
    from keras_lowlight.models.metrics import delta_e2000_np, psnr_np
    from keras_lowlight.runtime.packing import layout_for
    from keras_lowlight.runtime.raw import read_raw, render_srgb

    levels = []
    for plan in synthetic.scene_plans("train"):
        scene = synthetic.make_scene(plan)
        levels.append(exposure.signal_level(read_raw(scene.long_name, data=scene.long_bytes)))
    calibrated = float(np.median(levels))
    print(f"calibrated target signal {calibrated:.4f} (in code: {exposure.TARGET_SIGNAL}) over {len(levels)} scenes")

    engine = runtime.LiteRTEngine(MODEL, num_threads=2)
    rows = []
    for split in ("test", "validation"):
        for plan in synthetic.scene_plans(split):
            scene = synthetic.make_scene(plan)
            truth = render_srgb(scene.long_name, data=scene.long_bytes).astype(np.float32) / 65535.0
            for name, data in scene.shorts:
                image = read_raw(name, data=data)
                true_ratio = min(synthetic.LONG_EXPOSURE / image.exposure_time, MAX_RATIO)
                estimated = exposure.estimate_ratio(image)
                packed = image.packed()
                h, w = layout_for(image.cfa_pattern).cropped_shape(image.height, image.width)
                target = truth[:h, :w]
                row = {"split": split, "frame": name, "source": plan.source, "true_ratio": true_ratio,
                       "auto_ratio": estimated, "factor": estimated / true_ratio,
                       f"within_x{WITHIN}": bool(1 / WITHIN <= estimated / true_ratio <= WITHIN)}
                for label, ratio in (("true", true_ratio), ("auto", estimated)):
                    out = np.clip(runtime.enhance_frame(engine, amplify(packed, ratio)), 0, 1)
                    row[f"psnr_{label}"] = psnr_np(target, out)
                    row[f"deltaE_{label}"] = delta_e2000_np(target, out)
                row["psnr_loss_db"] = row["psnr_true"] - row["psnr_auto"]
                rows.append(row)
    test = [r for r in rows if r["split"] == "test"]
    summary = [
        {"frames": f"{split} ({len(group)})",
         f"share_within_x{WITHIN}": float(np.mean([r[f"within_x{WITHIN}"] for r in group])),
         "median_factor": float(np.median([r["factor"] for r in group])),
         "mean_psnr_true": float(np.mean([r["psnr_true"] for r in group])),
         "mean_psnr_auto": float(np.mean([r["psnr_auto"] for r in group])),
         "mean_psnr_loss_db": float(np.mean([r["psnr_loss_db"] for r in group])),
         "mean_deltaE_true": float(np.mean([r["deltaE_true"] for r in group])),
         "mean_deltaE_auto": float(np.mean([r["deltaE_auto"] for r in group]))}
        for split, group in (("test", test), ("test + validation", rows))
    ]
    from _results import markdown_table

    notes = (__doc__.split("\n\n", 1)[1].rsplit("\n\n", 1)[0]
             + f"\n\nCalibrated target signal: {calibrated:.4f} (median of {len(levels)} training long exposures; "
               f"the code uses {exposure.TARGET_SIGNAL}). Goal: within ×{WITHIN} on ≥ 80 % of the test frames, "
               "≤ 0.5 dB mean PSNR loss.")
    markdown = markdown_table(summary) + "\n\nPer frame:\n\n" + markdown_table(rows)
    write_results("auto_ratio", rows, title="`--ratio auto`: estimated vs true ratio on the synthetic frames",
                  notes=notes, markdown=markdown)


if __name__ == "__main__":
    main()
