"""Evaluation: `evaluate` (PSNR / SSIM / ΔE over a split, contact sheets), the classical baselines
(`baseline`: amplification only, BM3D) and quick previews (`preview`)."""
