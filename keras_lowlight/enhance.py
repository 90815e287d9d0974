"""`lowlight enhance`: RAW files in, clean sRGB images out — the main job for a user.

Each file is read through LibRaw, packed for its CFA, amplified by a ratio taken from the
exposure times (SID names or EXIF) or given, sent through a model of its CFA (LiteRT by default,
or Keras; tiled so a full frame fits in memory) and written in the `--format`s asked for
(`keras_lowlight.writers`: one 8-bit PNG by default; 16-bit PNG, TIFF, …). Every write goes through a
temporary file and a rename: a crash never leaves half an image. A file that cannot be read is
reported in one line and skipped; the others go on.

The LiteRT path imports no TensorFlow: this module, `raw`, `packing`, `runtime`, `writers` and
`conventions` stand on numpy, rawpy, LiteRT and tifffile only (checked by `tests/test_enhance_fast.py`
and the import-linter contracts in pyproject.toml). A folder runs as a pipeline: the next file
is decoded and the previous one written while the model runs the current one.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_lowlight import packing, writers
from keras_lowlight.conventions import CFA_FOR_CHANNELS, MAX_RATIO, amplify
from keras_lowlight.errors import LowlightError, RawReadError
from keras_lowlight.raw import RawImage, read_raw

RAW_EXTENSIONS = {".arw", ".raf", ".dng", ".nef", ".cr2", ".cr3", ".orf", ".rw2", ".pef", ".srw", ".nrw", ".3fr"}
DEFAULT_TARGET_EXPOSURE = 10.0  # seconds: SID's Sony long exposures (ratios 100/250/300 ↔ 0.1/0.04/0.033 s)
DEFAULT_RATIO = 100.0
BACKENDS = ("auto", "tflite", "keras")
# The shipped model per CFA (folder under the models folder), used when --model is not given.
DEFAULT_MODELS = {"bayer": "mobile_bayer", "xtrans": "mobile_xtrans"}
PACK_ROWS = 256  # packed rows normalised / amplified at a time (bounds the float temporaries)


def models_folder() -> Path:
    """Where shipped models live: $LOWLIGHT_MODELS, else the package data, else the checkout."""
    from keras_lowlight import locations

    return locations.models_folder()


def __getattr__(name: str):  # SAVED_MODELS is resolved when first asked for, not at import
    if name == "SAVED_MODELS":
        return models_folder()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def amplification_ratio(image: RawImage, ratio: float | str | None = None, target_exposure: float | None = None
                        ) -> float:
    """The ratio to apply: given (a number, or "auto": estimated from the frame by
    `keras_lowlight.exposure`), or target exposure / the frame's exposure, capped at 300."""
    if ratio is not None and target_exposure is not None:
        raise LowlightError("give either --ratio or --target-exposure, not both")
    if isinstance(ratio, str):
        if ratio != "auto":
            raise LowlightError(f"--ratio must be a number > 0 or 'auto', got {ratio!r}")
        from keras_lowlight.exposure import estimate_ratio

        return estimate_ratio(image)
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
    """Packed, normalised, amplified, clipped — the model's `packed_raw` for one frame (reference form)."""
    return amplify(image.packed(), ratio)


def prepare_packed(image: RawImage, ratio: float) -> np.ndarray:
    """`prepare_input` with one frame-sized float32 array instead of five.

    The uint16 mosaic is packed first (a permutation: uint16 in, uint16 out), then normalised and
    amplified a block of rows at a time with each packed pixel's own black level — the same
    float32 operations in the same order on the same values, so the result equals
    `prepare_input` bit for bit (tested), at ~⅕ of the peak memory.
    """
    layout = packing.layout_for(image.cfa_pattern)
    packed = packing.pack(image.mosaic, image.cfa_pattern)
    # Black level of each packed pixel: pack one period of the per-site black map; it repeats
    # every `cells` packed pixels.
    p, (dy, dx) = layout.period, layout.offset
    sites = np.asarray(image.black_levels, np.float32).reshape(p, p)
    period_black = packing.pack(np.tile(sites, (2, 2))[: dy + p, : dx + p], image.cfa_pattern)
    cells = layout.cells
    out = np.empty(packed.shape, np.float32)
    white = np.float32(image.white_level)
    for y in range(0, packed.shape[0], PACK_ROWS):
        block = out[y : y + PACK_ROWS]
        rows, width = block.shape[:2]
        phase = np.roll(period_black, -(y % cells), axis=0)
        black = np.tile(phase, (-(-rows // cells), -(-width // cells), 1))[:rows, :width]
        np.subtract(packed[y : y + PACK_ROWS], black, out=block, dtype=np.float32)
        block /= white - black
        np.clip(block, 0.0, 1.0, out=block)
        amplify(block, ratio, out=block)
    return out


@dataclass
class LoadedModel:
    """A tiled predictor for packed frames of one CFA kind (its engine runs one tile at a time)."""

    name: str
    cfa: str
    channels: int
    engine: object
    tile: int | None = None

    def predict(self, packed: np.ndarray, sink=None) -> np.ndarray | None:
        from keras_lowlight import runtime

        kwargs = {"tile": self.tile} if self.tile else {}
        return runtime.enhance_frame(self.engine, packed, sink=sink, **kwargs)


def choose_backend(backend: str, model: str | None) -> str:
    """`auto`: Keras for a `.keras` file (or a folder holding only one), else LiteRT (the shipped
    int8 model, any `.tflite`) — the path that needs no TensorFlow."""
    if backend not in BACKENDS:
        raise LowlightError(f"unknown backend {backend!r}; choose {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    if model is None:
        return "tflite"
    path = Path(model)
    if path.suffix == ".keras":
        return "keras"
    if path.is_dir() and not any(path.glob("*.tflite")) and (path / "model.keras").exists():
        return "keras"
    return "tflite"


def resolve_model_path(model: str | None, cfa: str, backend: str) -> Path:
    """--model as a path, a saved_models/ folder name or preset-like name, or the shipped default."""
    backend = choose_backend(backend, model)
    suffix = ".keras" if backend == "keras" else ".tflite"
    candidates: list[Path] = []
    if model is None:
        folder = models_folder() / DEFAULT_MODELS[cfa]
        candidates = [folder / "model.keras"] if backend == "keras" else [folder / "model_int8.tflite",
                                                                           folder / "model_float16.tflite"]
    else:
        path = Path(model)
        if path.is_dir():
            candidates = [path / f"model{suffix}", path / "model_int8.tflite", path / "model_float16.tflite"]
        elif path.suffix in (".keras", ".tflite"):
            candidates = [path]
        else:
            folder = models_folder() / model
            candidates = [folder / f"model{suffix}", folder / "model_int8.tflite"]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    if model is None:
        raise ModelError(f"no shipped {cfa} model: {candidates[0].parent} holds no "
                         f"{' or '.join(c.name for c in candidates)}; pass --model FILE")
    raise ModelError(f"model not found: {candidates[0]}")


def load_predictor(path: Path, tile: int | None, threads: int = 2) -> LoadedModel:
    """A tiled predictor (`keras_lowlight.runtime`) for a `.keras` or `.tflite` file."""
    from keras_lowlight import runtime

    engine = runtime.load_engine(path, num_threads=threads)
    cfa = CFA_FOR_CHANNELS.get(engine.channels, "unknown")
    return LoadedModel(path.name, cfa, engine.channels, engine, tile)


def render(predictor: LoadedModel, packed: np.ndarray, formats: Iterable[str], source: RawImage | None = None
           ) -> writers.Frame:
    """Runs the model and keeps only what the formats read: integer images quantised tile by tile
    (no frame-sized float32 output) unless a format needs the float output itself."""
    needs = {writers.FORMATS[name].bits for name in formats}
    if getattr(predictor.engine, "head", "srgb") == "raw":  # the clean packed RAW, rendered by its format
        return writers.Frame(None, source, raw=predictor.predict(packed))
    if None in needs:  # a format reading the float output (or the source) gets it whole
        return writers.Frame(predictor.predict(packed), source)
    s = predictor.engine.scale
    shape = (packed.shape[0] * s, packed.shape[1] * s, 3)
    targets = {bits: np.empty(shape, np.uint16 if bits == 16 else np.uint8) for bits in sorted(needs)}

    def sink(y: int, x: int, core: np.ndarray) -> None:
        h, w = core.shape[:2]
        clipped = np.clip(core, 0.0, 1.0)  # once per tile, shared by both depths
        scratch = np.empty_like(clipped)
        for bits, target in targets.items():
            writers.quantize_clipped(clipped, bits, target[y : y + h, x : x + w], scratch)

    predictor.predict(packed, sink=sink)
    return writers.Frame(None, source, quantized=targets)


def check_formats_fit_model(formats: Iterable[str], predictor: LoadedModel, path: Path | None = None) -> None:
    """`--format dng` writes the denoised RAW, which only a RAW-head model produces: refuse any
    other model before it runs, so nothing is written for that file."""
    if "dng" in formats and getattr(predictor.engine, "head", "srgb") != "raw":
        where = f"{path}: " if path is not None else ""
        raise ModelError(f"{where}--format dng needs a RAW-head model (trained with --head raw); "
                         f"{predictor.name} is a {predictor.cfa} model that outputs sRGB")


def write_outputs(srgb: np.ndarray, out_dir: Path, stem: str, fmt: str = "png") -> list[Path]:
    """The chosen formats (here `png`: 16-bit PNG + 8-bit PNG) of a float sRGB frame, each atomically."""
    return writers.write_frame(writers.Frame(srgb), Path(out_dir), stem, writers.parse_formats(fmt))


@dataclass
class EnhanceReport:
    written: dict[str, list[Path]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    megapixels: float = 0.0


@dataclass
class _Decoded:
    path: Path
    image: RawImage | None = None
    packed: np.ndarray | None = None
    error: LowlightError | None = None


_DONE = object()


def _check_output_folder(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".lowlight-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise LowlightError(f"cannot write to output folder {out_dir}: {e.strerror or e}") from None


class _Stage(threading.Thread):
    """A pipeline stage on its own thread; an unexpected exception is kept for the main thread."""

    def __init__(self, name: str, work: Callable[[], None]):
        super().__init__(name=f"lowlight-{name}", daemon=True)
        self.work = work
        self.exception: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as e:  # re-raised by the main thread: a bug must not pass silently
            self.exception = e


def enhance(
    inputs: Iterable[str | os.PathLike],
    output_dir: str | os.PathLike,
    model: str | None = None,
    backend: str = "auto",
    ratio: float | None = None,
    target_exposure: float | None = None,
    tile: int | None = None,
    fmt: str | Iterable[str] | None = None,
    threads: int = 2,
    progress: bool = True,
    on_error: Callable[[str, str], None] | None = None,
) -> EnhanceReport:
    """Enhances RAW files; returns what was written and which files failed (and why).

    Three stages overlap (bounded: at most one decoded frame waits for the model and one
    rendered frame for the writer): a reader thread decodes and packs the next file, this thread
    runs the model, a writer thread encodes and writes the previous result.
    """
    from tqdm import tqdm

    backend = choose_backend(backend, model)
    formats = writers.parse_formats(fmt)
    out_dir = Path(output_dir)
    _check_output_folder(out_dir)
    files = collect_inputs(inputs)
    if not files:
        raise LowlightError("no RAW files found in the given inputs")
    report = EnhanceReport()
    loaded: dict[str, LoadedModel] = {}
    explicit = None
    if model is not None:  # load eagerly: a bad --model is one error, not one per file
        explicit = load_predictor(resolve_model_path(model, "bayer", backend), tile, threads)
        check_formats_fit_model(formats, explicit)

    decoded: queue.Queue = queue.Queue(maxsize=1)
    decode_slot = threading.Semaphore(1)  # the reader starts a file only once the last one was taken
    rendered: queue.Queue = queue.Queue(maxsize=1)
    finished: queue.Queue = queue.Queue()  # (path, paths written | None, error message | None, megapixels)
    stop = threading.Event()

    def read_all() -> None:
        try:
            for path in files:
                decode_slot.acquire()
                if stop.is_set():
                    break
                item = _Decoded(path)
                try:
                    item.image = read_raw(path)
                    item.packed = prepare_packed(item.image, amplification_ratio(item.image, ratio, target_exposure))
                except LowlightError as e:
                    item.error = e
                decoded.put(item)
        finally:
            decoded.put(_DONE)

    def write_all() -> None:
        while (item := rendered.get()) is not _DONE:
            if writer.exception is not None:
                continue  # keep draining so the model thread never blocks on a dead writer
            path, frame = item
            height, width = frame.size
            try:
                paths = writers.write_frame(frame, out_dir, path.stem, formats)
                finished.put((path, paths, None, height * width / 1e6))
            except OSError as e:
                finished.put((path, None, f"{path}: cannot write output: {e.strerror or e}", 0.0))
            except BaseException as e:  # a bug: re-raised by the main thread
                writer.exception = e

    reader, writer = _Stage("read", read_all), _Stage("write", write_all)
    bar = tqdm(total=len(files), desc="enhance", unit="file", disable=not progress)
    start = time.perf_counter()

    def fail(path: Path, message: str) -> None:
        report.failed[str(path)] = message
        if on_error:
            # The bar is cleared while the message is written and redrawn after it, so an
            # error line always starts its own line (never appended to the bar's text).
            with bar.external_write_mode():
                on_error(str(path), message)
        bar.update(1)

    def collect() -> None:
        while True:
            try:
                path, paths, error, megapixels = finished.get_nowait()
            except queue.Empty:
                return
            if error:
                fail(path, error)
                continue
            report.written[str(path)] = paths
            report.megapixels += megapixels
            bar.update(1)
            bar.set_postfix_str(f"{report.megapixels / (time.perf_counter() - start):.1f} MP/s", refresh=True)

    reader.start()
    writer.start()
    try:
        while (item := decoded.get()) is not _DONE:
            decode_slot.release()
            collect()
            try:
                if item.error is not None:
                    raise item.error
                image = item.image
                cfa = packing.layout_for(image.cfa_pattern).kind
                predictor = explicit
                if predictor is None:
                    if cfa not in loaded:
                        loaded[cfa] = load_predictor(resolve_model_path(None, cfa, backend), tile, threads)
                    predictor = loaded[cfa]
                if predictor.cfa != cfa:
                    raise ModelError(f"{item.path}: {cfa} file, but model {predictor.name} expects "
                                     f"{predictor.channels}-channel {predictor.cfa} input")
                check_formats_fit_model(formats, predictor, item.path)
                frame = render(predictor, item.packed, formats, image)
            except (RawReadError, ModelError) as e:
                fail(item.path, str(e))
                continue
            finally:
                item.packed = None
            rendered.put((item.path, frame))
            if writer.exception is not None:
                raise writer.exception
        rendered.put(_DONE)
        writer.join()
        collect()
    finally:
        stop.set()
        decode_slot.release()
        if writer.is_alive():
            rendered.put(_DONE)
        bar.close()
    for stage in (reader, writer):
        if stage.exception is not None:
            raise stage.exception
    report.seconds = time.perf_counter() - start
    return report
