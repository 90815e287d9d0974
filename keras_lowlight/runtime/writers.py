"""Output formats of `lowlight enhance`: a small registry of atomic, fast, TensorFlow-free writers.

Each format is an `OutputFormat` (name, file-name tail, writer) in `FORMATS`; `--format` takes
any comma-separated subset. A writer gets a `Frame` — the model's output plus the RAW it came
from — so a format that needs the source file (a DNG keeping the camera's metadata) plugs in
beside the sRGB ones with `register(OutputFormat(...))`.

Pixels are quantised exactly as before (`clip(x, 0, 1) · 65535 + 0.5`, truncated; the same with
255 for 8 bits), row block by row block so no frame-sized float temporaries are made. PNGs are
encoded here with zlib (row filter and deflate strategy chosen by measurement, below): row blocks are filtered and compressed in parallel threads (zlib
releases the GIL) and streamed out as IDAT chunks, so an encoded copy of the frame never sits in
memory. TIFF goes through tifffile, uncompressed (the fastest 16-bit file a photo editor opens).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from keras_lowlight.runtime.errors import LowlightError
from keras_lowlight.runtime.files import write_atomically

ROW_BLOCK = 128  # rows quantised / filtered / compressed at a time (a 6000-px row of RGB16 is 36 kB)


class FormatError(LowlightError):
    """An unknown or unusable `--format`."""


# === Quantisation (the output rule; unchanged from the first release) ===


def quantize(srgb: np.ndarray, bits: int, out: np.ndarray | None = None) -> np.ndarray:
    """float sRGB → uint16 (bits=16) or uint8 (bits=8): clip to [0, 1], × (2^bits − 1), + 0.5, truncate.

    Computed row block by row block into `out`, so the only frame-sized array is the result.
    """
    dtype, top = (np.uint16, 65535.0) if bits == 16 else (np.uint8, 255.0)
    if out is None:
        out = np.empty(srgb.shape, dtype)
    for y in range(0, srgb.shape[0], ROW_BLOCK):
        block = np.clip(srgb[y : y + ROW_BLOCK], 0.0, 1.0)
        block *= np.float32(top) if block.dtype == np.float32 else top
        block += 0.5
        out[y : y + ROW_BLOCK] = block.astype(dtype)
    return out


def quantize_clipped(clipped: np.ndarray, bits: int, out: np.ndarray, scratch: np.ndarray) -> None:
    """`quantize` of an already clipped float32 block into `out`, with a caller's scratch buffer
    (the tiler's per-tile path: no allocation per depth). Same float32 operations, same result."""
    top = np.float32(65535.0 if bits == 16 else 255.0)
    np.multiply(clipped, top, out=scratch)
    scratch += np.float32(0.5)
    np.copyto(out, scratch, casting="unsafe")  # truncation, exactly as astype


# === PNG ===

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ADLER_BASE = 65521
_FILTER_NONE, _FILTER_SUB, _FILTER_UP = 0, 1, 2


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(tag)))


def _adler32_combine(adler1: int, adler2: int, length2: int) -> int:
    """adler32 of A+B from adler32(A), adler32(B) and len(B) — zlib's `adler32_combine`."""
    rem = length2 % _ADLER_BASE
    sum1 = adler1 & 0xFFFF
    sum2 = (rem * sum1) % _ADLER_BASE
    sum1 += (adler2 & 0xFFFF) + _ADLER_BASE - 1
    sum2 += ((adler1 >> 16) & 0xFFFF) + ((adler2 >> 16) & 0xFFFF) + _ADLER_BASE - rem
    sum1 %= _ADLER_BASE
    sum2 %= _ADLER_BASE
    return sum1 | (sum2 << 16)


def _filtered_rows(image: np.ndarray, y0: int, y1: int, row_filter: int) -> memoryview:
    """PNG scanlines y0..y1 (filter byte + big-endian samples) of an (H, W, C) uint8/uint16 image."""
    rows = image[y0:y1].reshape(y1 - y0, -1)
    raw = rows.astype(">u2" if image.dtype == np.uint16 else np.uint8, copy=False).view(np.uint8)
    out = np.empty((y1 - y0, raw.shape[1] + 1), np.uint8)
    out[:, 0] = row_filter
    if row_filter == _FILTER_SUB:
        bpp = image.shape[2] * image.dtype.itemsize
        out[:, 1 : 1 + bpp] = raw[:, :bpp]
        np.subtract(raw[:, bpp:], raw[:, :-bpp], out=out[:, 1 + bpp :])
    elif row_filter == _FILTER_UP:
        previous = image[y0 - 1 : y0].reshape(1, -1) if y0 else None
        if previous is None:
            out[0, 1:] = raw[0]
        else:
            prev = previous.astype(">u2" if image.dtype == np.uint16 else np.uint8, copy=False).view(np.uint8)
            np.subtract(raw[0], prev[0], out=out[0, 1:])
        np.subtract(raw[1:], raw[:-1], out=out[1:, 1:])
    else:
        out[:, 1:] = raw
    return memoryview(out).cast("B")  # zlib reads the buffer in place: no bytes copy


def write_png(f: BinaryIO, image: np.ndarray, level: int = 1, row_filter: int = _FILTER_NONE,
              workers: int | None = None, strategy: int = zlib.Z_DEFAULT_STRATEGY) -> None:
    """An (H, W, 3) uint8 or uint16 RGB image as PNG, row blocks deflated in parallel.

    Each block is an independent raw-deflate run ended by a full flush (the last one finished),
    so the concatenation is one valid zlib stream, written as one IDAT chunk per block.
    """
    h, w, channels = image.shape
    if channels != 3 or image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"write_png takes (H, W, 3) uint8/uint16; got {image.shape} {image.dtype}")
    bit_depth = 8 * image.dtype.itemsize
    f.write(_PNG_SIGNATURE + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, 2, 0, 0, 0)))
    starts = list(range(0, h, ROW_BLOCK))

    def deflate(y0: int) -> tuple[bytes, int, int]:
        data = _filtered_rows(image, y0, min(y0 + ROW_BLOCK, h), row_filter)
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)
        last = y0 == starts[-1]
        body = compressor.compress(data) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)
        return body, zlib.adler32(data), data.nbytes

    adler = 1
    header = b"\x78\x01"  # deflate, 32 K window; the level hint is informative only
    workers = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        # map() keeps at most `len(starts)` futures; bound the read-ahead to a few blocks per worker.
        for i in range(0, len(starts), 4 * workers):
            for body, block_adler, length in pool.map(deflate, starts[i : i + 4 * workers]):
                adler = _adler32_combine(adler, block_adler, length)
                f.write(_png_chunk(b"IDAT", header + body))
                header = b""
    f.write(_png_chunk(b"IDAT", struct.pack(">I", adler)) + _png_chunk(b"IEND", b""))


# === Frames and formats ===


@dataclass
class Frame:
    """What a writer gets: the model's output and the RAW it came from.

    `srgb` is the tiled output of an sRGB-head model (H, W, 3) float32, unclipped — or already
    quantised arrays in `quantized` (bits → uint array) when the caller rendered straight to
    integers. `raw` is a RAW-head model's output (the clean packed RAW, (H, W, C) in [0, 1]).
    """

    srgb: np.ndarray | None
    source: Any = None  # keras_lowlight.runtime.raw.RawImage
    quantized: dict[int, np.ndarray] = field(default_factory=dict)
    raw: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the picture (for a RAW-head frame: of its rendering, s × the packed size)."""
        if not self.quantized and self.srgb is None and self.raw is not None and self.source is not None:
            from keras_lowlight.runtime.packing import layout_for

            s = layout_for(self.source.cfa_pattern).scale
            return int(self.raw.shape[0]) * s, int(self.raw.shape[1]) * s
        array = next(iter(self.quantized.values()), self.srgb if self.srgb is not None else self.raw)
        return int(array.shape[0]), int(array.shape[1])

    def pixels(self, bits: int) -> np.ndarray:
        """The image quantised to `bits` (computed once, shared by formats of the same depth)."""
        if bits not in self.quantized:
            if self.srgb is None and self.raw is not None and self.source is not None:
                # A RAW-head output: rendered with the source file's own colour metadata, straight to
                # integers (isp's fast path: ~0.5 s of CPU for 24 MP, within 1 code of quantize(render_packed)).
                from keras_lowlight.runtime.isp import render_packed_quantized

                source = self.source
                self.quantized[bits] = render_packed_quantized(self.raw, source.cfa_pattern, source.white_balance,
                                                               source.xyz_to_cam, bits)
                return self.quantized[bits]
            if self.srgb is None:
                raise FormatError(f"no {bits}-bit rendering of this frame was made")
            self.quantized[bits] = quantize(self.srgb, bits)
        return self.quantized[bits]


@dataclass(frozen=True)
class OutputFormat:
    """One `--format` choice: the file it writes next to the input's stem, and how.

    Attributes:
        name: the `--format` word.
        suffix: appended to the input's stem ("_16bit.png" → `IMG_0001_16bit.png`).
        write: writes the frame to an open binary file (atomicity is the caller's).
        bits: the sRGB quantisation it reads (16, 8), or None for formats that read `source`.
        description: one line for `--help`.
    """

    name: str
    suffix: str
    write: Callable[[Frame, BinaryIO], None]
    bits: int | None
    description: str


FORMATS: dict[str, OutputFormat] = {}


def register(fmt: OutputFormat) -> OutputFormat:
    """Adds a format to `--format`'s choices (later registrations of a name replace earlier)."""
    FORMATS[fmt.name] = fmt
    return fmt


# Chosen by measurement on the shipped int8 model's output for a 24 MP frame (2 busy cores; see the
# README's performance section): the Up filter with Huffman-only deflate is the fastest setting
# that still compresses — for 8 bits it is also the smallest (30 MB vs 36 MB at level 1 default,
# 2.5 s → 1.7 s); for 16 bits 1.8× faster than level 1 default (6.4 s → 3.5 s) for 74 MB instead
# of 57 MB (stored: 144 MB). `--format tiff` (uncompressed, 0.7 s) is the fastest 16-bit file.
register(OutputFormat("png16", "_16bit.png",
                      lambda frame, f: write_png(f, frame.pixels(16), 1, _FILTER_UP, strategy=zlib.Z_HUFFMAN_ONLY),
                      16, "16-bit sRGB PNG (lossless, for editing)"))
register(OutputFormat("png8", ".png",
                      lambda frame, f: write_png(f, frame.pixels(8), 1, _FILTER_UP, strategy=zlib.Z_HUFFMAN_ONLY),
                      8, "8-bit sRGB PNG (for viewing and sharing)"))


def _write_tiff(frame: Frame, f: BinaryIO) -> None:
    import tifffile

    tifffile.imwrite(f, frame.pixels(16), photometric="rgb")


register(OutputFormat("tiff", ".tiff", _write_tiff, 16, "16-bit sRGB TIFF, uncompressed (fastest to write)"))

def _write_dng(frame: Frame, f: BinaryIO) -> None:
    from keras_lowlight.runtime.dng import write_denoised_dng

    if frame.raw is None or frame.source is None:  # enhance refuses this before any model runs
        raise FormatError("--format dng writes the denoised RAW: it needs a RAW-head model (head='raw')")
    write_denoised_dng(f, frame.raw, frame.source)


register(OutputFormat("dng", ".dng", _write_dng, None,
                      "denoised RAW as a DNG keeping the camera's metadata (RAW-head models only)"))

# One file by default: the 8-bit sRGB PNG that every viewer, browser and phone opens — the finished
# picture (the model has already rendered white balance, colour and tone). Editing headroom is one
# flag away (`--format png16` or `tiff`; `png` = both PNGs, the first release's default). The 16-bit
# PNG costs about 2 s more on a 24 MP frame, 74 MB instead of ~30 MB
# (benchmarks/results/enhance_e2e.md), and a default that writes two files per shot doubles what a
# photographer has to sort through.
DEFAULT_FORMATS = ("png8",)
# Words of the first release: `--format png` (16-bit PNG + 8-bit PNG), `--format tiff` (TIFF + 8-bit PNG).
ALIASES = {"png": ("png16", "png8")}


def parse_formats(spec: str | Iterable[str] | None) -> tuple[str, ...]:
    """`"png16,png8"` / ["tiff"] / None → validated format names, in the given order, no repeats."""
    if spec is None:
        return DEFAULT_FORMATS
    words = spec.split(",") if isinstance(spec, str) else list(spec)
    names: list[str] = []
    for word in (w.strip().lower() for w in words):
        if not word:
            continue
        expanded = ALIASES.get(word, (word,))
        for name in expanded:
            if name not in FORMATS:
                raise FormatError(f"unknown format {word!r}; choose from {', '.join(FORMATS)} (comma-separated)")
            if name not in names:
                names.append(name)
    if not names:
        raise FormatError(f"no output format given; choose from {', '.join(FORMATS)}")
    return tuple(names)


def output_paths(out_dir: Path, stem: str, formats: Iterable[str]) -> list[Path]:
    return [Path(out_dir) / f"{stem}{FORMATS[name].suffix}" for name in formats]


def write_frame(frame: Frame, out_dir: Path, stem: str, formats: Iterable[str]) -> list[Path]:
    """Writes `frame` in each format, each file atomically (temp file + rename); the paths written."""
    formats = tuple(formats)
    written = []
    for name, path in zip(formats, output_paths(out_dir, stem, formats)):
        fmt = FORMATS[name]
        write_atomically(path, lambda f, fmt=fmt: fmt.write(frame, f))
        written.append(path)
    return written
