"""`lowlight enhance`: RAW files in, clean sRGB images out — the main job for a user.

Each file is read through LibRaw, packed for its CFA, amplified by a ratio taken from the
exposure times (SID names or EXIF) or given, sent through a model of its CFA (Keras or LiteRT,
tiled so a full frame fits in memory) and written as a 16-bit PNG/TIFF plus an 8-bit PNG.
Every write goes through a temporary file and a rename: a crash never leaves half an image.
A file that cannot be read is reported in one line and skipped; the others go on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_lowlight import packing
from keras_lowlight.data import MAX_RATIO
from keras_lowlight.errors import LowlightError, RawReadError
from keras_lowlight.files import write_atomically
from keras_lowlight.raw import RawImage, read_raw

RAW_EXTENSIONS = {".arw", ".raf", ".dng", ".nef", ".cr2", ".cr3", ".orf", ".rw2", ".pef", ".srw", ".nrw", ".3fr"}
DEFAULT_TARGET_EXPOSURE = 10.0  # seconds: SID's Sony long exposures (ratios 100/250/300 ↔ 0.1/0.04/0.033 s)
DEFAULT_RATIO = 100.0
SAVED_MODELS = Path(__file__).resolve().parent.parent / "saved_models"
# The shipped model per CFA (folder under saved_models/), used when --model is not given.
DEFAULT_MODELS = {"bayer": "mobile_bayer", "xtrans": "mobile_xtrans"}


class ModelError(LowlightError):
    """A model cannot be found, loaded, or does not fit the file."""


def collect_inputs(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given, folders expanded to the RAW files they hold (sorted)."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in RAW_EXTENSIONS and p.is_file())
        else:
            files.append(path)
    return files


def amplification_ratio(image: RawImage, ratio: float | None = None, target_exposure: float | None = None) -> float:
    """The ratio to apply: given, or target exposure / the frame's exposure, capped at 300."""
    if ratio is not None and target_exposure is not None:
        raise LowlightError("give either --ratio or --target-exposure, not both")
    if ratio is not None:
        if not 0 < ratio < float("inf"):  # also refuses NaN
            raise LowlightError(f"--ratio must be a finite number > 0, got {ratio}")
        return float(ratio)
    if target_exposure is not None and not 0 < target_exposure < float("inf"):
        raise LowlightError(f"--target-exposure must be a finite number of seconds > 0, got {target_exposure}")
    if image.exposure_time:
        target = target_exposure if target_exposure is not None else DEFAULT_TARGET_EXPOSURE
        return float(min(max(target / image.exposure_time, 1.0), MAX_RATIO))
    if target_exposure is not None:
        raise LowlightError(f"{image.path}: exposure time unknown; give --ratio instead of --target-exposure")
    return DEFAULT_RATIO


def prepare_input(image: RawImage, ratio: float) -> np.ndarray:
    """Packed, normalised, amplified, clipped — the model's `packed_raw` for one frame."""
    return np.minimum(image.packed() * min(ratio, MAX_RATIO), 1.0).astype(np.float32)


@dataclass
class LoadedModel:
    """A predictor for packed frames of one CFA kind."""

    name: str
    cfa: str
    channels: int
    predict: Callable[[np.ndarray], np.ndarray]


def resolve_model_path(model: str | None, cfa: str, backend: str) -> Path:
    """--model as a path, a saved_models/ folder name or preset-like name, or the shipped default."""
    suffix = ".keras" if backend == "keras" else ".tflite"
    candidates: list[Path] = []
    if model is None:
        folder = SAVED_MODELS / DEFAULT_MODELS[cfa]
        candidates = [folder / "model.keras"] if backend == "keras" else [folder / "model_int8.tflite",
                                                                           folder / "model_float16.tflite"]
    else:
        path = Path(model)
        if path.is_dir():
            candidates = [path / f"model{suffix}", path / "model_int8.tflite", path / "model_float16.tflite"]
        elif path.suffix in (".keras", ".tflite"):
            candidates = [path]
        else:
            folder = SAVED_MODELS / model
            candidates = [folder / f"model{suffix}", folder / "model_int8.tflite"]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise ModelError(f"model not found: {candidates[0]}" + ("" if model else f" (no shipped {cfa} model)"))


def load_predictor(path: Path, tile: int | None, threads: int = 2) -> LoadedModel:
    """A tiled predictor (`keras_lowlight.runtime`) for a `.keras` or `.tflite` file."""
    from keras_lowlight import runtime

    engine = runtime.load_engine(path, num_threads=threads)
    kwargs = {"tile": tile} if tile else {}
    cfa = {4: "bayer", 9: "xtrans"}.get(engine.channels, "unknown")
    return LoadedModel(path.name, cfa, engine.channels, lambda packed: runtime.enhance_frame(engine, packed, **kwargs))


def write_outputs(srgb: np.ndarray, out_dir: Path, stem: str, fmt: str = "png") -> list[Path]:
    """16-bit PNG or TIFF plus an 8-bit PNG preview, each written atomically."""
    import tensorflow as tf

    srgb = np.clip(srgb, 0.0, 1.0)
    image16 = (srgb * 65535.0 + 0.5).astype(np.uint16)
    image8 = (srgb * 255.0 + 0.5).astype(np.uint8)
    written = []
    if fmt == "tiff":
        import tifffile

        path16 = out_dir / f"{stem}.tiff"
        write_atomically(path16, lambda f: tifffile.imwrite(f, image16, photometric="rgb"))
    else:
        path16 = out_dir / f"{stem}_16bit.png"
        encoded16 = tf.io.encode_png(image16).numpy()
        write_atomically(path16, lambda f: f.write(encoded16))
    written.append(path16)
    path8 = out_dir / f"{stem}.png"
    encoded8 = tf.io.encode_png(image8).numpy()
    write_atomically(path8, lambda f: f.write(encoded8))
    written.append(path8)
    return written


@dataclass
class EnhanceReport:
    written: dict[str, list[Path]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def enhance(
    inputs: Iterable[str | os.PathLike],
    output_dir: str | os.PathLike,
    model: str | None = None,
    backend: str = "keras",
    ratio: float | None = None,
    target_exposure: float | None = None,
    tile: int | None = None,
    fmt: str = "png",
    threads: int = 2,
    progress: bool = True,
    on_error: Callable[[str, str], None] | None = None,
) -> EnhanceReport:
    """Enhances RAW files; returns what was written and which files failed (and why)."""
    from tqdm import tqdm

    if backend not in ("keras", "tflite"):
        raise LowlightError(f"unknown backend {backend!r}; choose keras or tflite")
    if fmt not in ("png", "tiff"):
        raise LowlightError(f"unknown format {fmt!r}; choose png or tiff")
    out_dir = Path(output_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".lowlight-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise LowlightError(f"cannot write to output folder {out_dir}: {e.strerror or e}") from None

    files = collect_inputs(inputs)
    if not files:
        raise LowlightError("no RAW files found in the given inputs")
    report = EnhanceReport()
    loaded: dict[str, LoadedModel] = {}
    explicit = None
    if model is not None:  # load eagerly: a bad --model is one error, not one per file
        explicit = load_predictor(resolve_model_path(model, "bayer", backend), tile, threads)

    bar = tqdm(files, desc="enhance", unit="file", disable=not progress)
    for path in bar:
        try:
            image = read_raw(path)
            cfa = packing.layout_for(image.cfa_pattern).kind
            predictor = explicit
            if predictor is None:
                if cfa not in loaded:
                    loaded[cfa] = load_predictor(resolve_model_path(None, cfa, backend), tile, threads)
                predictor = loaded[cfa]
            if predictor.cfa != cfa:
                raise ModelError(f"{path}: {cfa} file, but model {predictor.name} expects "
                                 f"{predictor.channels}-channel {predictor.cfa} input")
            packed = prepare_input(image, amplification_ratio(image, ratio, target_exposure))
            srgb = predictor.predict(packed)
            report.written[str(path)] = write_outputs(srgb, out_dir, path.stem, fmt)
        except (RawReadError, ModelError) as e:
            report.failed[str(path)] = str(e)
            if on_error:
                # The bar is cleared while the message is written and redrawn after it, so an
                # error line always starts its own line (never appended to the bar's text).
                with bar.external_write_mode():
                    on_error(str(path), str(e))
    bar.close()
    return report
