"""`lowlight enhance`: RAW files in, clean sRGB images out — the main job for a user.

Each file is read through LibRaw, packed for its CFA, amplified by a ratio taken from the
exposure times (SID names or EXIF) or given, sent through a model of its CFA (LiteRT by default,
or Keras; tiled so a full frame fits in memory) and written in the `--format`s asked for
(`keras_lowlight.runtime.writers`: one 8-bit PNG by default; 16-bit PNG, TIFF, …). Every write goes through a
temporary file and a rename: a crash never leaves half an image. A file that cannot be read is
reported in one line and skipped; the others go on.

The LiteRT path imports no TensorFlow: this module, `raw`, `packing`, `runtime`, `writers` and
`conventions` stand on numpy, rawpy, LiteRT and tifffile only (checked by `tests/test_enhance_fast.py`
and the import-linter contracts in pyproject.toml). A folder runs in two lanes (`lanes_for`):
while one file is in the model, the other lane decodes or writes its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_lowlight.runtime import packing, writers
from keras_lowlight.runtime.conventions import CFA_FOR_CHANNELS, MAX_RATIO, amplify
from keras_lowlight.runtime.errors import LowlightError, RawReadError
from keras_lowlight.runtime.raw import RawImage, exposure_from_name, read_raw

RAW_EXTENSIONS = {".arw", ".raf", ".dng", ".nef", ".cr2", ".cr3", ".orf", ".rw2", ".pef", ".srw", ".nrw", ".3fr"}
DEFAULT_TARGET_EXPOSURE = 10.0  # seconds: SID's Sony long exposures (ratios 100/250/300 ↔ 0.1/0.04/0.033 s)
BACKENDS = ("auto", "tflite", "keras")
# The shipped model per CFA (folder under the models folder), used when --model is not given.
DEFAULT_MODELS = {"bayer": "mobile_bayer", "xtrans": "mobile_xtrans"}
PACK_ROWS = 256  # packed rows normalised / amplified at a time (bounds the float temporaries)


def models_folder() -> Path:
    """Where shipped models live: $LOWLIGHT_MODELS, else the package data, else the checkout."""
    from keras_lowlight.runtime import locations

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
    """The ratio to apply: given (a number, or "auto"), else target exposure / the frame's exposure
    when a target is given, else SID's from a SID file name (10 s / its exposure), else "auto":
    estimated from the frame by `keras_lowlight.runtime.exposure` (an EXIF exposure time alone says nothing
    about how bright the scene was). Capped at 300."""
    if ratio is not None and target_exposure is not None:
        raise LowlightError("give either --ratio or --target-exposure, not both")
    if isinstance(ratio, str) and ratio != "auto":
        raise LowlightError(f"--ratio must be a number > 0 or 'auto', got {ratio!r}")
    if ratio is not None and ratio != "auto":
        if not 0 < ratio < float("inf"):  # also refuses NaN
            raise LowlightError(f"--ratio must be a finite number > 0, got {ratio}")
        return float(ratio)
    if target_exposure is not None:
        if not 0 < target_exposure < float("inf"):
            raise LowlightError(f"--target-exposure must be a finite number of seconds > 0, got {target_exposure}")
        if not image.exposure_time:
            raise LowlightError(f"{image.path}: exposure time unknown; give --ratio instead of --target-exposure")
        return float(min(max(target_exposure / image.exposure_time, 1.0), MAX_RATIO))
    named = exposure_from_name(image.path) if ratio is None else None
    if named:
        return float(min(max(DEFAULT_TARGET_EXPOSURE / named, 1.0), MAX_RATIO))
    from keras_lowlight.runtime.exposure import estimate_ratio

    return estimate_ratio(image)


class FrameBuffers:
    """Frame-sized arrays kept from one file to the next of a batch lane (a fresh instance: none kept).

    Why: an array this big is mapped fresh by the allocator and unmapped when freed; in a process
    whose threads run on both cores, every unmap and first touch of ~100 MB costs system time
    (page faults, TLB shootdowns). Reusing the packed input and the quantised output of the
    previous file of the same size avoids that; the lane writes each file before the next, so
    nothing still in use is overwritten.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        array = self._arrays.get(name)
        if array is None or array.shape != tuple(shape) or array.dtype != dtype:
            self._arrays.pop(name, None)  # the old one is freed before the new one is made
            array = self._arrays[name] = np.empty(shape, dtype)
        return array


def prepare_input(image: RawImage, ratio: float) -> np.ndarray:
    """Packed, normalised, amplified, clipped — the model's `packed_raw` for one frame (reference form)."""
    return amplify(image.packed(), ratio)


def prepare_packed(image: RawImage, ratio: float, buffers: FrameBuffers | None = None) -> np.ndarray:
    """`prepare_input` with one frame-sized float32 array instead of five.

    The uint16 mosaic is packed first (a permutation: uint16 in, uint16 out), then normalised and
    amplified a block of rows at a time with each packed pixel's own black level — or, when the
    frame has one black level, through a 65536-entry table of the same rule — the same float32
    operations in the same order on the same values, so the result equals `prepare_input` bit
    for bit (tested), at ~⅕ of the peak memory.
    """
    layout = packing.layout_for(image.cfa_pattern)
    packed = packing.pack(image.mosaic, image.cfa_pattern)
    # Black level of each packed pixel: pack one period of the per-site black map; it repeats
    # every `cells` packed pixels.
    p, (dy, dx) = layout.period, layout.offset
    sites = np.asarray(image.black_levels, np.float32).reshape(p, p)
    period_black = packing.pack(np.tile(sites, (2, 2))[: dy + p, : dx + p], image.cfa_pattern)
    cells = layout.cells
    out = (buffers or FrameBuffers()).get("packed", packed.shape, np.float32)
    white = np.float32(image.white_level)
    if packed.dtype == np.uint16 and np.all(period_black == period_black.flat[0]):
        # One black level (most cameras): the whole rule is a function of the 16-bit code, so it is
        # computed once per code (the same float32 operations) and looked up: one pass, not five.
        black = period_black.flat[0]
        table = np.subtract(np.arange(1 << 16, dtype=np.uint16), black, dtype=np.float32)
        table /= white - black
        np.clip(table, 0.0, 1.0, out=table)
        amplify(table, ratio, out=table)
        for y in range(0, packed.shape[0], PACK_ROWS):
            out[y : y + PACK_ROWS] = table[packed[y : y + PACK_ROWS]]
        return out
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
        from keras_lowlight.runtime import engine as runtime

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
    """A tiled predictor (`keras_lowlight.runtime.engine`) for a `.keras` or `.tflite` file."""
    from keras_lowlight.runtime import engine as runtime

    engine = runtime.load_engine(path, num_threads=threads)
    cfa = CFA_FOR_CHANNELS.get(engine.channels, "unknown")
    return LoadedModel(path.name, cfa, engine.channels, engine, tile)


def render(predictor: LoadedModel, packed: np.ndarray, formats: Iterable[str], source: RawImage | None = None,
           buffers: FrameBuffers | None = None) -> writers.Frame:
    """Runs the model and keeps only what the formats read: integer images quantised tile by tile
    (no frame-sized float32 output) unless a format needs the float output itself."""
    needs = {writers.FORMATS[name].bits for name in formats}
    if getattr(predictor.engine, "head", "srgb") == "raw":  # the clean packed RAW, rendered by its format
        return writers.Frame(None, source, raw=predictor.predict(packed))
    if None in needs:  # a format reading the float output (or the source) gets it whole
        return writers.Frame(predictor.predict(packed), source)
    s = predictor.engine.scale
    shape = (packed.shape[0] * s, packed.shape[1] * s, 3)
    buffers = buffers or FrameBuffers()
    targets = {bits: buffers.get(f"srgb{bits}", shape, np.uint16 if bits == 16 else np.uint8) for bits in sorted(needs)}

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


BATCH_LANES = 2  # files in flight at once in a batch (each lane holds one frame: memory stays bounded)


def _check_output_folder(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".lowlight-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise LowlightError(f"cannot write to output folder {out_dir}: {e.strerror or e}") from None


@contextlib.contextmanager
def without_huge_pages():
    """numpy's transparent-huge-page advice off while the block runs (restored after).

    Why: numpy advises THP for every large array; where the kernel's THP defrag setting is
    `madvise` (this project's machines), each fresh frame-sized array then stalls in page
    compaction on first touch. `enhance` allocates and touches each ~100 MB array once, so it gains
    nothing from huge pages. Alternating runs on a 24 MP DNG (NUMPY_MADVISE_HUGEPAGE=1 vs 0, 2
    cores) put the advice at about 0.7 s more per file, all of it system time.
    """
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # a numpy without the switch: nothing to change
        yield
        return
    previous = _set_madvise_hugepage(False)
    try:
        yield
    finally:
        _set_madvise_hugepage(previous)


def lanes_for(files: int, threads: int, backend: str) -> int:
    """How many files a batch runs at once, each on its own interpreter with threads // lanes threads.

    Why lanes and not a read / model / write pipeline around one 2-thread interpreter: XNNPACK's
    threads meet at a barrier after every operator, so a decode or an encode thread taking one of
    the 2 cores stalls both model threads (they spin, burning CPU). Measured on 2 cores with a
    24 MP DNG folder (benchmarks/results/enhance_e2e.md): two lanes of one-thread interpreters
    (each doing decode → model → write, no barrier to wait on) 1.61× the throughput of single-file
    runs, and 1.36× that pipeline's on the same model. One file, or the Keras backend (one
    TensorFlow model per process), runs in one lane with all the threads.
    """
    if backend != "tflite" or files < 2 or threads < 2:
        return 1
    return min(BATCH_LANES, files, threads)


class _Lane(threading.Thread):
    """One batch lane: takes files from a shared queue and decodes, runs and writes each in turn.
    An unexpected exception (a bug) is kept for the main thread, which re-raises it."""

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

    A folder runs in lanes (`lanes_for`): each lane takes the next file, decodes, runs and writes
    it, on its own interpreter; files are reported as they finish (a bad one in one line, skipped).
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
    lanes = lanes_for(len(files), threads, backend)
    lane_threads = max(1, threads // lanes)
    explicit_path, spare = None, []
    if model is not None:  # load eagerly: a bad --model is one error, not one per file
        explicit_path = resolve_model_path(model, "bayer", backend)
        spare.append(load_predictor(explicit_path, tile, lane_threads))  # the first lane's
        check_formats_fit_model(formats, spare[0])

    todo: queue.Queue = queue.Queue()
    for path in files:
        todo.put(path)
    finished: queue.Queue = queue.Queue()  # (path, paths written | None, error message | None, megapixels)
    stop = threading.Event()

    def run_lane() -> None:
        loaded: dict[str, LoadedModel] = {}  # this lane's interpreters (one per CFA; not shared)
        buffers = FrameBuffers()
        while not stop.is_set():
            try:
                path = todo.get_nowait()
            except queue.Empty:
                return
            try:
                image = read_raw(path)
                packed = prepare_packed(image, amplification_ratio(image, ratio, target_exposure), buffers)
                # The writers need the file's metadata (CFA, levels, colour), not its mosaic: drop it.
                image = dataclasses.replace(image, mosaic=np.empty((0, 0), np.uint16))
                cfa = packing.layout_for(image.cfa_pattern).kind
                key = "explicit" if explicit_path is not None else cfa
                if key not in loaded:
                    try:
                        loaded[key] = spare.pop()  # list.pop is atomic: one lane gets the eager one
                    except IndexError:
                        model_path = explicit_path or resolve_model_path(None, cfa, backend)
                        loaded[key] = load_predictor(model_path, tile, lane_threads)
                predictor = loaded[key]
                if predictor.cfa != cfa:
                    raise ModelError(f"{path}: {cfa} file, but model {predictor.name} expects "
                                     f"{predictor.channels}-channel {predictor.cfa} input")
                check_formats_fit_model(formats, predictor, path)
                frame = render(predictor, packed, formats, image, buffers)
            except (RawReadError, ModelError) as e:
                finished.put((path, None, str(e), 0.0))
                continue
            height, width = frame.size
            try:
                paths = writers.write_frame(frame, out_dir, path.stem, formats)
            except OSError as e:
                finished.put((path, None, f"{path}: cannot write output: {e.strerror or e}", 0.0))
                continue
            finished.put((path, paths, None, height * width / 1e6))

    workers = [_Lane(f"lane{i}", run_lane) for i in range(lanes)]
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

    with without_huge_pages():  # the frames' arrays are fresh, touched once
        for worker in workers:
            worker.start()
        try:
            done = 0
            while done < len(files):
                try:
                    path, paths, error, megapixels = finished.get(timeout=0.2)
                except queue.Empty:
                    if not any(worker.is_alive() for worker in workers) and finished.empty():
                        break  # a lane died of a bug: re-raised below
                    continue
                done += 1
                if error:
                    fail(path, error)
                    continue
                report.written[str(path)] = paths
                report.megapixels += megapixels
                bar.update(1)
                bar.set_postfix_str(f"{report.megapixels / (time.perf_counter() - start):.1f} MP/s", refresh=True)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
            bar.close()
    for worker in workers:
        if worker.exception is not None:
            raise worker.exception
    report.seconds = time.perf_counter() - start
    return report
