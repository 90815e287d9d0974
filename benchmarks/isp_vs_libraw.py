"""How close the project's own ISP (`keras_lowlight.runtime.isp`, which renders RAW-head outputs) comes
to LibRaw's `postprocess` (SID's ground-truth render) on clean frames.

Frames: the clean 10 s long exposure of every synthetic test and validation scene
(`keras_lowlight.data.synthetic`, genuine DNGs), and the real Canon EOS 550D DNG of the test suite
(colorchart.dng from the tinydng 0.1.0 sdist on PyPI, fetched with pip into the user cache).

Three LibRaw references, each `use_camera_wb=True, no_auto_bright=True, output_bps=16`:
* `libraw_sid`: exactly `raw.render_srgb` (AHD demosaic, LibRaw defaults) — SID's ground truth.
  LibRaw's default `adjust_maximum_thr=0.75` replaces the white level by the frame's data maximum
  when that exceeds 75 % of it: a per-frame brightening the project's ISP does not copy.
* `libraw_fixed_white`: the same with `adjust_maximum_thr=0` (white level from the file).
* `libraw_linear`: that, with LibRaw's bilinear demosaic: isolates colour handling from demosaicing.
The ISP renders the frame packed (as a RAW-head output is) with the file's white balance and
XYZ→camera matrix. PSNR (dB, [0, 1]) and mean CIEDE2000 ΔE over the frame minus an 8 px border.

    python benchmarks/isp_vs_libraw.py
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_results  # noqa: E402

BORDER = 8


def canon_dng() -> tuple[str, bytes]:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "keras_lowlight" / "tinydng"
    target = cache / "colorchart.dng"
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", "tinydng",
                            "tinydng==0.1.0", "-d", tmp], check=True)
            with tarfile.open(next(Path(tmp).glob("tinydng-0.1.0.tar.gz"))) as tar:
                target.write_bytes(tar.extractfile(tar.getmember("tinydng-0.1.0/colorchart.dng")).read())
    return "colorchart.dng (Canon EOS 550D)", target.read_bytes()


def synthetic_frames() -> list[tuple[str, bytes]]:
    from keras_lowlight.data import synthetic

    frames = []
    for split in ("test", "validation"):
        for plan in synthetic.scene_plans(split):
            scene = synthetic.make_scene(plan)
            frames.append((f"synthetic {scene.long_name} ({plan.source})", scene.long_bytes))
    return frames


def libraw(data: bytes, **kwargs) -> np.ndarray:
    import rawpy

    with rawpy.imread(io.BytesIO(data)) as raw:
        out = raw.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True, output_bps=16, **kwargs)
    return out.astype(np.float32) / 65535.0


def measure(name: str, data: bytes) -> dict:
    import rawpy

    from keras_lowlight.runtime import isp, packing
    from keras_lowlight.models.metrics import delta_e2000_np, psnr_np
    from keras_lowlight.runtime.raw import read_raw

    image = read_raw(name, data=data)
    start = time.perf_counter()
    ours = isp.render_packed(image.packed(), image.cfa_pattern, image.white_balance, image.xyz_to_cam)
    seconds = time.perf_counter() - start
    h, w = ours.shape[:2]
    dy, dx = packing.layout_for(image.cfa_pattern).offset
    inner = (slice(BORDER, -BORDER), slice(BORDER, -BORDER))
    row = {"frame": name, "camera": image.camera, "size": f"{image.width}x{image.height}", "isp_s": seconds}
    references = {
        "libraw_sid": libraw(data),
        "libraw_fixed_white": libraw(data, adjust_maximum_thr=0.0),
        "libraw_linear": libraw(data, adjust_maximum_thr=0.0, demosaic_algorithm=rawpy.DemosaicAlgorithm.LINEAR),
    }
    for key, reference in references.items():
        reference = reference[dy : dy + h, dx : dx + w][inner]
        row[f"psnr_vs_{key}"] = psnr_np(reference, ours[inner])
        row[f"deltaE_vs_{key}"] = delta_e2000_np(reference, ours[inner])
    return row


def main() -> None:
    frames = synthetic_frames() + [canon_dng()]
    rows = [measure(name, data) for name, data in frames]
    synthetic_rows = [r for r in rows if r["frame"].startswith("synthetic")]
    summary = {"frame": f"mean of {len(synthetic_rows)} synthetic frames", "camera": "", "size": "", "isp_s": float("nan")}
    for key in rows[0]:
        if key.startswith(("psnr", "deltaE")):
            summary[key] = float(np.mean([r[key] for r in synthetic_rows]))
    rows.append(summary)
    write_results(
        "isp_vs_libraw", rows,
        title="The project's ISP (RAW-head rendering) vs LibRaw's postprocess on clean frames",
        notes=(__doc__.split("\n\n", 1)[1].rsplit("\n\n", 1)[0]),
    )


if __name__ == "__main__":
    main()
