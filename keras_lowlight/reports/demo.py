"""The README's main job: the whole story on the embedded synthetic default, in a few minutes.

1. build `sid/synthetic` (clean photographs unprocessed to RAW, darkened with the calibrated
   Sony a7S II noise model) — no download;
2. a short `model.fit` of the fast `mobile` preset;
3. full-resolution evaluation on the test split against the amplification-only baseline;
4. conversion of the fresh model to a full-integer int8 `.tflite`;
5. `lowlight enhance` of a synthetic RAW file (a genuine DNG) with that fresh int8 model AND
   with the shipped one, side by side in a labelled before/after picture — so the demo's own
   training is what the picture judges, with the shipped model as the reference point.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

DEMO_PRESET = "mobile"


def _step(n: int, text: str) -> None:
    print(f"\n[{n}/5] {text}", flush=True)


def write_sample_raw(output_dir: Path) -> tuple[Path, np.ndarray]:
    """A synthetic test-split short exposure written back as a genuine DNG (SID file name, the
    scene's own colour), and its long-exposure ground truth (float sRGB) for the picture."""
    from keras_lowlight import data
    from keras_lowlight.reports.sample_frame import write_scene_short

    scenes = list(data.load_scenes("sid/synthetic", "test").as_numpy_iterator())
    scene = max(scenes, key=lambda s: s["long_srgb"].mean())  # the best-lit test scene
    path, _ = write_scene_short(scene, output_dir)  # its middle ratio (×250)
    return path, scene["long_srgb"].astype(np.float32) / 65535.0


def before_after(raw_path: Path, outputs: list[tuple[str, np.ndarray]], truth: np.ndarray, ratio: float,
                 out_path: Path) -> Path:
    """Side by side: the short exposure amplified with a plain ISP, each labelled model output,
    and the long exposure of the same scene."""
    from keras_lowlight.evaluation.evaluate import contact_sheet
    from keras_lowlight.evaluation.preview import simple_render
    from keras_lowlight.runtime.raw import read_raw

    image = read_raw(raw_path)
    before = simple_render(image, ratio)
    h, w = outputs[0][1].shape[:2]
    return contact_sheet([(f"{raw_path.name}  x{ratio:g}", [before[:h, :w], *(o[:h, :w] for _, o in outputs),
                                                           truth[:h, :w]])], out_path,
                         columns=("before: amplified + plain ISP", *(label for label, _ in outputs),
                                  "long exposure (reference)"), width=360)


def compare_on_sample(out: Path, fresh_model: Path, label: str) -> dict[str, Path]:
    """A synthetic test DNG through `lowlight enhance` with the fresh model and with the shipped
    int8 model; one labelled picture: before | fresh | shipped | long exposure."""
    from PIL import Image

    from keras_lowlight.runtime.enhance import amplification_ratio, enhance, resolve_model_path
    from keras_lowlight.runtime.raw import read_raw

    raw_path, truth = write_sample_raw(out)
    ratio = amplification_ratio(read_raw(raw_path))
    outputs, written = [], {}
    for caption, model_path, folder in (
        (label, fresh_model, out / "enhanced"),
        ("after: shipped model (int8)", resolve_model_path(None, "bayer", "tflite"), out / "enhanced_shipped"),
    ):
        files = enhance([raw_path], folder, model=str(model_path), backend="tflite", fmt="png16,png8",
                        progress=False)
        outputs.append((caption, np.asarray(Image.open(files.written[str(raw_path)][-1]), np.float32) / 255.0))
        written[f"enhanced 16-bit PNG ({folder.name})"] = files.written[str(raw_path)][0]
    written["before/after picture"] = before_after(raw_path, outputs, truth, ratio, out / "before_after.png")
    return written


def run_demo(output_dir: str | Path = "demo_output", steps: int = 1200) -> dict[str, Path]:
    from keras_lowlight import data, export
    from keras_lowlight.evaluation.evaluate import evaluate
    from keras_lowlight.training.train import train

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    written: dict[str, Path] = {}

    _step(1, "building sid/synthetic (unprocessed photographs + calibrated Sony a7S II noise) …")
    scenes = data.load_scenes("sid/synthetic", "train")
    print(f"      {sum(1 for _ in scenes)} training scenes ready")

    _step(2, f"training the '{DEMO_PRESET}' preset for {steps} steps with model.fit …")
    epochs = 4
    trained_steps = epochs * max(1, steps // epochs)
    result = train(DEMO_PRESET, dataset="sid/synthetic", crop=64, batch=16, epochs=epochs,
                   steps_per_epoch=max(1, steps // epochs), learning_rate=1e-3, decay_every=10 ** 9,
                   decay_unit="steps", output=str(out / "train"), verbose=2)
    written["training log"] = result.output / "log.csv"

    _step(3, "evaluating at full resolution on the synthetic test split …")
    report = evaluate(result.model, dataset="sid/synthetic", split="test", output=out / "evaluate")
    print(report.table())
    written["evaluation table"] = out / "evaluate" / "summary.md"
    written["evaluation contact sheet"] = report.sheet_path

    _step(4, "converting the fresh model to a full-integer int8 .tflite …")
    crops = list(data.representative_crops("sid/synthetic", "train", count=64, crop=64))
    # As `lowlight package` ships it: without the pad/crop size adapters (static shapes inside, the
    # tiler pads to the multiple), so XNNPACK judges the whole graph when the interpreter is
    # allocated and the runtime can fall back to builtin kernels if it refuses (a briefly trained
    # model can leave a dead SE channel); the any-size graph failed later, at invoke.
    flatbuffer = export.convert(result.model, mode="int8", representative=crops, size_adapters=False)
    tflite_path = export.write_atomically(out / "demo_model_int8.tflite", flatbuffer)
    print(f"      {tflite_path} ({len(flatbuffer) / 1024:.0f} KiB, builtin ops only)")
    written["int8 model"] = tflite_path

    _step(5, "enhancing a synthetic RAW file (DNG) with the model just trained and with the shipped one …")
    written.update(compare_on_sample(out, tflite_path, f"after: this demo's model (int8, {trained_steps} steps)"))

    print(f"\nDone in {time.monotonic() - start:.0f} s. Look at:")
    for what, path in written.items():
        print(f"  {what:26s} {path}")
    return written
