"""Full-resolution evaluation on a test split, by named protocol, with pictures.

Published SID/ResNet-SE numbers disagree mostly by protocol, so the protocol is an argument:
`sid` (burst _00 only: 93 Sony / 94 Fuji images), `maharjan` (_00 minus the misaligned scenes
10034, 10045, 10172: 88 Sony images), `all` (every test pair minus those scenes). Outputs are
clipped to [0, 1]; PSNR/SSIM use data_range 1 (see `keras_lowlight.models.metrics`).

Beside the model, every table carries amplification-only and, with `baselines=("bm3d",)`
(`lowlight evaluate --baseline bm3d`), BM3D on the packed RAW under the generalised Anscombe
transform with noise parameters estimated from each frame (`keras_lowlight.evaluation.baseline`), and
BM3D's time per output megapixel. Both baselines are rendered like the model's output:

* sRGB-head model (it learned colour from its training pairs): with an oracle colour fit — a
  3×3 matrix fitted to each ground truth — so the baselines are not handicapped by colour;
* RAW-head model (colour comes from the file): with the same ISP and the file's own white
  balance and colour matrix as the model's output and the truth. An oracle fit there would be
  a hidden advantage: least squares against the truth also shrinks noise (several dB on the
  amplified input of sid/synthetic test frames), which no real render can do.

Colour error: every table and row also carries the mean CIEDE2000 ΔE (sRGB → CIELAB D65,
scikit-image), the number that moves when a whole image shifts colour while PSNR barely does.

RAW-head models (`models.get(..., head="raw")`) output the clean packed RAW. Their output AND
the ground truth (the scene's clean long exposure, packed the same way) are both rendered by
`keras_lowlight.runtime.isp.render_packed` with the scene's own white balance and colour matrix, so
PSNR/SSIM/ΔE compare like with like; the baselines are scored against that same rendered truth.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_lowlight import data as data_lib
from keras_lowlight.runtime.errors import LowlightError
from keras_lowlight.runtime.files import write_atomically

RATIO_BUCKETS = (100, 250, 300)
BASELINES = ("bm3d",)  # optional classical baselines; amplification-only is always there


@dataclass
class ImageResult:
    file: str
    scene_id: int
    burst: int
    ratio: float
    psnr: float
    ssim: float
    baseline_psnr: float
    baseline_ssim: float
    bm3d_psnr: float | None = None
    bm3d_ssim: float | None = None
    bm3d_seconds: float | None = None
    megapixels: float | None = None  # of the sRGB output, for time per megapixel
    delta_e: float = float("nan")  # mean CIEDE2000 of the model output
    baseline_delta_e: float = float("nan")
    bm3d_delta_e: float | None = None


@dataclass
class EvalReport:
    protocol: str
    results: list[ImageResult]
    csv_path: Path | None
    sheet_path: Path | None

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean PSNR/SSIM (model and baseline) per ratio bucket (×100/×250/×300) and overall."""
        groups: dict[str, list[ImageResult]] = defaultdict(list)
        for r in self.results:
            bucket = min(RATIO_BUCKETS, key=lambda b: abs(b - min(r.ratio, 300)))
            groups[f"x{bucket}"].append(r)
            groups["overall"].append(r)
        out = {}
        for name in [f"x{b}" for b in RATIO_BUCKETS] + ["overall"]:
            rows = groups.get(name)
            if rows:
                out[name] = {
                    "count": len(rows),
                    "psnr": float(np.mean([r.psnr for r in rows])),
                    "ssim": float(np.mean([r.ssim for r in rows])),
                    "baseline_psnr": float(np.mean([r.baseline_psnr for r in rows])),
                    "baseline_ssim": float(np.mean([r.baseline_ssim for r in rows])),
                    "delta_e": float(np.mean([r.delta_e for r in rows])),
                    "baseline_delta_e": float(np.mean([r.baseline_delta_e for r in rows])),
                }
                if rows[0].bm3d_psnr is not None:
                    out[name].update(
                        bm3d_psnr=float(np.mean([r.bm3d_psnr for r in rows])),
                        bm3d_ssim=float(np.mean([r.bm3d_ssim for r in rows])),
                        bm3d_delta_e=float(np.mean([r.bm3d_delta_e for r in rows])),
                        bm3d_s_per_mp=float(sum(r.bm3d_seconds for r in rows) / sum(r.megapixels for r in rows)),
                    )
        return out

    def table(self) -> str:
        summary = self.summary()
        bm3d = "bm3d_psnr" in summary.get("overall", {})
        extra_head = " BM3D PSNR | BM3D SSIM | BM3D ΔE | BM3D s/MP |" if bm3d else ""
        lines = [
            f"protocol {self.protocol}; PSNR in dB and SSIM on sRGB clipped to [0, 1] (data_range 1); "
            "ΔE = mean CIEDE2000",
            "| ratio | images | PSNR | SSIM | ΔE | amplify-only PSNR | amplify-only SSIM | amplify-only ΔE |"
            + extra_head,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" + " ---: | ---: | ---: | ---: |" * bm3d,
        ]
        for name, s in summary.items():
            extra = (f" {s['bm3d_psnr']:.2f} | {s['bm3d_ssim']:.4f} | {s['bm3d_delta_e']:.2f} | "
                     f"{s['bm3d_s_per_mp']:.1f} |" if bm3d else "")
            lines.append(
                f"| {name} | {s['count']} | {s['psnr']:.2f} | {s['ssim']:.4f} | {s['delta_e']:.2f} | "
                f"{s['baseline_psnr']:.2f} | {s['baseline_ssim']:.4f} | {s['baseline_delta_e']:.2f} |" + extra
            )
        if bm3d:
            lines.append("\nBM3D: packed RAW, generalised Anscombe transform with Poisson-Gaussian parameters "
                         "estimated per frame, exact unbiased inverse (Mäkitalo & Foi 2013), rendered exactly like "
                         "amplify-only (oracle colour fit for an sRGB-head model, the file's colour for a RAW-head one); s/MP = seconds of BM3D per output megapixel on this machine.")
        return "\n".join(lines)


def render_raw_pair(output_raw: np.ndarray, pair) -> tuple[np.ndarray, np.ndarray]:
    """A RAW-head output and its pair's clean long exposure, both rendered to sRGB by the same
    ISP with the scene's own white balance and colour matrix: (rendered output, rendered truth)."""
    from keras_lowlight.runtime.isp import render_packed

    target_raw = getattr(pair, "target_raw", None)
    white_balance = getattr(pair, "white_balance", None)
    if target_raw is None or white_balance is None:
        raise LowlightError(
            f"{pair.file}: a RAW-head model needs the clean long exposure (`long_raw`) and the white balance "
            "in the dataset to render its ground truth; rebuild the dataset with a version that stores them"
        )
    xyz_to_cam = getattr(pair, "xyz_to_cam", None)
    h, w = target_raw.shape[:2]
    rendered = render_packed(output_raw[:h, :w], pair.cfa_pattern, white_balance, xyz_to_cam)
    return rendered, render_packed(target_raw, pair.cfa_pattern, white_balance, xyz_to_cam)


def keras_predictor(model, tile: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """Full-frame Keras inference through the shared tiler (`keras_lowlight.runtime.engine`)."""
    from keras_lowlight.runtime import engine as runtime

    engine = runtime.KerasEngine(model)
    kwargs = {"tile": tile} if tile else {}
    return lambda packed: runtime.enhance_frame(engine, packed, **kwargs)


def load_model(path: str | os.PathLike):
    """Loads a `.keras` model (default safe mode, inference only) or raises a one-line error."""
    from keras_lowlight.export import load_keras_model
    from keras_lowlight.runtime.modelcheck import keras_problem

    model = load_keras_model(path)
    problem = keras_problem(model)
    if problem:
        raise LowlightError(f"{path}: not a low-light RAW model: {problem}")
    return model


def _preview(image: np.ndarray, width: int) -> np.ndarray:
    from PIL import Image

    h, w = image.shape[:2]
    height = max(1, round(h * width / w))
    pil = Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
    return np.asarray(pil.resize((width, height), Image.LANCZOS))


def contact_sheet(rows: list[tuple[str, list[np.ndarray]]], path: Path, columns: tuple[str, ...],
                  width: int = 320) -> Path:
    """A PNG grid: one row per image, one column per stage, labelled; written atomically."""
    from PIL import Image, ImageDraw

    tiles = [[_preview(img, width) for img in images] for _, images in rows]
    heights = [max(t.shape[0] for t in row) for row in tiles]
    label_h = 18
    sheet = Image.new("RGB", (width * len(columns), label_h + sum(h + label_h for h in heights)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, name in enumerate(columns):
        draw.text((c * width + 4, 3), name, fill="black")
    y = label_h
    for (label, _), row, h in zip(rows, tiles, heights):
        draw.text((4, y + 3), label, fill="black")
        y += label_h
        for c, tile in enumerate(row):
            sheet.paste(Image.fromarray(tile), (c * width, y))
        y += h
    write_atomically(path, lambda f: sheet.save(f, format="PNG"))
    return path


def evaluate(
    model,
    dataset: str = "sid/synthetic",
    split: str = "test",
    protocol: str = "all",
    output: str | os.PathLike | None = "runs/evaluate",
    sheet_images: int = 4,
    limit: int | None = None,
    predictor: Callable[[np.ndarray], np.ndarray] | None = None,
    data_dir: str | None = None,
    manual_dir: str | None = None,
    progress: bool = True,
    scenes=None,
    baselines: tuple[str, ...] = (),
    head: str | None = None,
) -> EvalReport:
    """Evaluates a Keras model (or `.keras` path, or a predictor callable) at full resolution.

    Writes `per_image.csv`, `summary.md` and `contact_sheet.png` (amplified input rendered like
    the baselines, model output, ground truth) into `output`. `baselines=("bm3d",)` adds BM3D columns (slow: seconds per megapixel).
    `head`: "srgb" or "raw" (see the module docstring); default: read from the model, "srgb" for
    a bare predictor.
    """
    from tqdm import tqdm

    from keras_lowlight.evaluation.baseline import render_oracle
    from keras_lowlight.models.metrics import delta_e2000_np, psnr_np, ssim_np

    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise LowlightError(f"unknown baseline {unknown[0]!r}; choose from: {', '.join(BASELINES)}")
    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    predict = predictor or keras_predictor(model)
    if head is None:
        from keras_lowlight.models import head_of

        head = head_of(model) if model is not None else "srgb"
    out_dir = Path(output) if output is not None else None
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise LowlightError(f"cannot write to output folder {out_dir}: {e.strerror or e}") from None

    results: list[ImageResult] = []
    sheet_rows = []
    pairs = data_lib.eval_pairs(dataset, split, protocol=protocol, data_dir=data_dir, manual_dir=manual_dir,
                                scenes=scenes)
    for pair in tqdm(pairs, desc=f"evaluate {dataset}:{split} ({protocol})", unit="img", disable=not progress):
        if limit is not None and len(results) >= limit:
            break
        out = np.clip(predict(pair.packed), 0.0, 1.0)
        if head == "raw":
            out, target = render_raw_pair(out, pair)
        else:
            target = pair.target[: out.shape[0], : out.shape[1]]
        if head == "raw":
            def render_baseline(packed, pair=pair):
                return render_raw_pair(np.clip(packed, 0.0, 1.0), pair)[0]
        else:
            def render_baseline(packed, target=target):
                return render_oracle(packed, target)
        base = render_baseline(pair.packed)
        result = ImageResult(
            file=pair.file, scene_id=pair.scene_id, burst=pair.burst, ratio=pair.ratio,
            psnr=psnr_np(target, out), ssim=ssim_np(target, out),
            baseline_psnr=psnr_np(target, base), baseline_ssim=ssim_np(target, base),
            delta_e=delta_e2000_np(target, out), baseline_delta_e=delta_e2000_np(target, base),
        )
        row_images = [base, out, target]
        if "bm3d" in baselines:
            from keras_lowlight.evaluation.baseline import bm3d_timed

            denoised, result.bm3d_seconds = bm3d_timed(pair.packed)  # cached with LOWLIGHT_BM3D_CACHE
            classical = render_baseline(denoised)
            result.bm3d_psnr, result.bm3d_ssim = psnr_np(target, classical), ssim_np(target, classical)
            result.bm3d_delta_e = delta_e2000_np(target, classical)
            result.megapixels = target.shape[0] * target.shape[1] / 1e6
            row_images.insert(1, classical)
        results.append(result)
        if len(sheet_rows) < sheet_images:
            sheet_rows.append((f"{pair.file}  x{pair.ratio:g}  {results[-1].psnr:.2f} dB  dE00 {results[-1].delta_e:.2f}",
                               row_images))
    if not results:
        raise LowlightError(f"no test pairs in {dataset}:{split} under protocol {protocol!r}")

    report = EvalReport(protocol, results, None, None)
    if out_dir is not None:
        report.csv_path = out_dir / "per_image.csv"

        def write_csv(f):
            import io

            text = io.StringIO()
            writer = csv.writer(text)
            bm3d = "bm3d" in baselines
            writer.writerow(["file", "scene_id", "burst", "ratio", "psnr", "ssim", "baseline_psnr", "baseline_ssim"]
                            + ["bm3d_psnr", "bm3d_ssim", "bm3d_seconds"] * bm3d
                            + ["delta_e", "baseline_delta_e"] + ["bm3d_delta_e"] * bm3d)
            for r in results:
                writer.writerow([r.file, r.scene_id, r.burst, f"{r.ratio:g}", f"{r.psnr:.4f}", f"{r.ssim:.5f}",
                                 f"{r.baseline_psnr:.4f}", f"{r.baseline_ssim:.5f}"]
                                + ([f"{r.bm3d_psnr:.4f}", f"{r.bm3d_ssim:.5f}", f"{r.bm3d_seconds:.3f}"] if bm3d else [])
                                + [f"{r.delta_e:.4f}", f"{r.baseline_delta_e:.4f}"]
                                + ([f"{r.bm3d_delta_e:.4f}"] if bm3d else []))
            f.write(text.getvalue().encode())

        write_atomically(report.csv_path, write_csv)
        write_atomically(out_dir / "summary.md", lambda f: f.write((report.table() + "\n").encode()))
        colour = "file colour" if head == "raw" else "oracle colour"
        report.sheet_path = contact_sheet(
            sheet_rows, out_dir / "contact_sheet.png",
            columns=(f"amplified input ({colour})", *((f"BM3D ({colour})",) if "bm3d" in baselines else ()),
                     "model output", "ground truth"),
        )
    return report
