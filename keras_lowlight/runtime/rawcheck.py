"""Cheap integrity checks of a RAW file, before and after LibRaw decodes it.

LibRaw decodes a RAW file cut short (a copy interrupted mid-way) without complaint: what is
missing comes back as zeros, so an 18 MP ARW cut to 4 MB is "a normal frame" whose lower part is
flat. Two checks catch this, both in milliseconds on an 18 MP file and neither needing more than
numpy (no TensorFlow):

* `container_problem(data)`: for TIFF-based RAWs (DNG, ARW, NEF, CR2, PEF, SRW, ORF, RW2, …) the
  image IFDs are parsed here — the chain from the header plus SubIFDs, robust to looping or
  duplicated IFD offsets — and the raw image's declared strips/tiles (offsets + byte counts)
  must lie inside the file. Fujifilm RAF's header declares its CFA block's offset and length;
  ISO-BMFF containers (CR3) declare every top-level box's size: both must fit in the file.
* `mosaic_problem(mosaic, black, white)`: after decoding, a long run of rows that are exactly one
  value below saturation (LibRaw's zero fill, or a constant written over the data) is reported.

Each returns None for a plausible file or one sentence saying what is wrong.
"""

from __future__ import annotations

import struct

import numpy as np

# TIFF tags (TIFF 6.0 and Adobe DNG 1.4).
STRIP_OFFSETS, STRIP_BYTE_COUNTS = 273, 279
TILE_OFFSETS, TILE_BYTE_COUNTS = 324, 325
PHOTOMETRIC = 262
SUB_IFDS = 330
CFA_PHOTOMETRIC = 32803  # DNG / TIFF-EP colour filter array

# type id -> (struct code, size) for the integer types an offset or count may use.
_INT_TYPES = {1: ("B", 1), 3: ("H", 2), 4: ("I", 4), 8: ("h", 2), 9: ("i", 4), 13: ("I", 4), 16: ("Q", 8)}

# Magic numbers of TIFF-structured RAWs: classic TIFF, Olympus ORF, Panasonic RW2.
_TIFF_MAGICS = {42, 0x4F52, 0x5352, 0x55}

MAX_IFDS = 256  # a real RAW has < 20; more means a corrupt or hostile chain
MAX_ENTRIES = 4096
MAX_STRIPS = 1 << 20


class _Ifd:
    __slots__ = ("offset", "tags")

    def __init__(self, offset: int, tags: dict[int, tuple[int, int, int]]):
        self.offset = offset
        self.tags = tags  # tag -> (type, count, value-or-offset position in the file)


def _tiff_ifds(data: bytes, endian: str, first: int) -> tuple[list[_Ifd], str | None]:
    """Every IFD reachable from `first` through next-IFD links and SubIFDs, each once."""
    size = len(data)
    seen: set[int] = set()
    ifds: list[_Ifd] = []
    pending = [first]
    while pending:
        offset = pending.pop(0)
        if offset == 0 or offset in seen:
            continue  # end of chain, or a loop / duplicated offset
        seen.add(offset)
        if len(seen) > MAX_IFDS:
            return ifds, f"corrupt TIFF structure: more than {MAX_IFDS} IFDs"
        if offset + 2 > size:
            if not ifds:
                return ifds, (f"truncated: the first IFD is declared at byte {offset:,}, "
                              f"the file has {size:,} bytes")
            continue  # a later IFD out of the file: nothing of it can be checked
        (count,) = struct.unpack_from(endian + "H", data, offset)
        if count == 0 or count > MAX_ENTRIES:
            if not ifds:
                return ifds, f"corrupt TIFF structure: first IFD has {count} entries"
            continue
        end = offset + 2 + 12 * count
        if end > size:
            if not ifds:
                return ifds, f"truncated: the first IFD ends at byte {end:,}, the file has {size:,} bytes"
            continue
        tags: dict[int, tuple[int, int, int]] = {}
        for i in range(count):
            tag, typ, n = struct.unpack_from(endian + "HHI", data, offset + 2 + 12 * i)
            tags.setdefault(tag, (typ, n, offset + 2 + 12 * i + 8))
        ifds.append(_Ifd(offset, tags))
        (next_ifd,) = struct.unpack_from(endian + "I", data, end) if end + 4 <= size else (0,)
        pending.append(next_ifd)
        if SUB_IFDS in tags:
            pending.extend(_values(data, endian, tags[SUB_IFDS]) or [])
    return ifds, None


def _values(data: bytes, endian: str, entry: tuple[int, int, int],
            limit: int = MAX_STRIPS) -> list[int] | None:
    """The integer values of an IFD entry; None if its type is not an integer type or they are
    outside the file (the caller decides what that means)."""
    typ, count, position = entry
    if typ not in _INT_TYPES or count > limit:
        return None
    code, width = _INT_TYPES[typ]
    nbytes = width * count
    if nbytes > 4:  # the values live elsewhere; the entry holds their offset
        (position,) = struct.unpack_from(endian + "I", data, position)
    if position + nbytes > len(data):
        return None
    return list(struct.unpack_from(f"{endian}{count}{code}", data, position))


def _raw_ifd(ifds: list[_Ifd], data: bytes, endian: str) -> _Ifd | None:
    """The IFD holding the CFA image: the largest with photometric 32803 (DNG, TIFF-EP), else the
    largest declared image (ARW, NEF, CR2 store the raw as their biggest strip set)."""
    def declared(ifd: _Ifd) -> int:
        entry = ifd.tags.get(STRIP_BYTE_COUNTS) or ifd.tags.get(TILE_BYTE_COUNTS)
        values = _values(data, endian, entry) if entry else None
        return sum(values) if values else 0

    def photometric(ifd: _Ifd) -> int:
        entry = ifd.tags.get(PHOTOMETRIC)
        return ((_values(data, endian, entry) if entry else None) or [0])[0]

    images = [ifd for ifd in ifds if STRIP_OFFSETS in ifd.tags or TILE_OFFSETS in ifd.tags]
    cfa = [ifd for ifd in images if photometric(ifd) == CFA_PHOTOMETRIC]
    return max(cfa or images, key=declared) if images else None


def _tiff_problem(data: bytes) -> str | None:
    endian = "<" if data[:2] == b"II" else ">"
    (magic,) = struct.unpack_from(endian + "H", data, 2)
    if magic not in _TIFF_MAGICS:
        return None  # BigTIFF or something else: LibRaw decides
    (first,) = struct.unpack_from(endian + "I", data, 4)
    ifds, problem = _tiff_ifds(data, endian, first)
    if problem:
        return problem
    raw = _raw_ifd(ifds, data, endian)
    if raw is None:
        return None  # no strips/tiles declared (e.g. RW2's RawDataOffset): LibRaw decides
    for offsets_tag, counts_tag in ((STRIP_OFFSETS, STRIP_BYTE_COUNTS), (TILE_OFFSETS, TILE_BYTE_COUNTS)):
        if offsets_tag not in raw.tags or counts_tag not in raw.tags:
            continue  # e.g. Panasonic RW2 declares no byte counts: LibRaw decides
        offsets = _values(data, endian, raw.tags[offsets_tag])
        counts = _values(data, endian, raw.tags[counts_tag])
        if offsets is None or counts is None:
            return "corrupt or truncated: the raw image's strip/tile table is missing or outside the file"
        if len(offsets) != len(counts):
            return f"corrupt: {len(offsets)} raw data offsets but {len(counts)} byte counts"
        end = max((o + c for o, c in zip(offsets, counts) if c > 0), default=0)
        if end > len(data):
            missing = end - len(data)
            share = f"{100 * missing / end:.0f}%" if missing * 100 >= end else "<1%"
            return (f"truncated: the raw image data is declared up to byte {end:,} but the file has "
                    f"{len(data):,} bytes ({missing:,} bytes, {share} missing)")
    return None


def _raf_problem(data: bytes) -> str | None:
    """Fujifilm RAF: big-endian (offset, length) of the JPEG, the CFA header and the CFA data."""
    if len(data) < 108:
        return f"truncated: {len(data)} bytes, shorter than a RAF header"
    for name, at in (("embedded JPEG", 84), ("CFA header", 92), ("CFA data", 100)):
        offset, length = struct.unpack_from(">II", data, at)
        if offset + length > len(data):
            return (f"truncated: the {name} is declared up to byte {offset + length:,} but the file has "
                    f"{len(data):,} bytes")
    return None


def _bmff_problem(data: bytes) -> str | None:
    """ISO base media (Canon CR3): every top-level box must fit in the file."""
    position = 0
    while position + 8 <= len(data):
        (size,) = struct.unpack_from(">I", data, position)
        if size == 1 and position + 16 <= len(data):
            (size,) = struct.unpack_from(">Q", data, position + 8)
        elif size == 0:
            return None  # extends to the end of the file
        if size < 8:
            return f"corrupt: a box of {size} bytes at byte {position:,}"
        if position + size > len(data):
            return (f"truncated: a {data[position + 4:position + 8]!r} box is declared up to byte "
                    f"{position + size:,} but the file has {len(data):,} bytes")
        position += size
    return None


def container_problem(data: bytes) -> str | None:
    """What is wrong with the container's declared layout, or None (see the module docstring)."""
    try:
        if len(data) >= 8 and data[:2] in (b"II", b"MM"):
            return _tiff_problem(data)
        if data[:16] == b"FUJIFILMCCD-RAW ":
            return _raf_problem(data)
        if data[4:8] == b"ftyp":
            return _bmff_problem(data)
    except struct.error:
        return "corrupt or truncated container structure"
    return None


def mosaic_problem(mosaic: np.ndarray, black: float, white: float) -> str | None:
    """A run of at least max(8, 2 % of the height) rows that are each exactly one value in the
    lower half of the range (at most black + (white - black) / 2): no sensor makes that (read noise
    alone varies every row); LibRaw's zero fill of missing data and overwritten data do. Constant
    rows in the upper half are clipping — many sensors saturate below the declared white level —
    so a blown-out sky is never called corrupt."""
    height = mosaic.shape[0]
    if height == 0 or mosaic.shape[1] < 2:
        return None
    min_run = max(8, height // 50)
    # A strided column sample finds candidate rows cheaply; candidates are then checked in full.
    sample = mosaic[:, :: max(1, mosaic.shape[1] // 64)]
    candidate = sample.min(axis=1) == sample.max(axis=1)
    if not candidate.any():
        return None
    rows = np.flatnonzero(candidate)
    flat = np.zeros(height, bool)
    first = mosaic[rows, :1]
    clip_floor = black + (white - black) / 2
    flat[rows] = (mosaic[rows] == first).all(axis=1) & (first[:, 0] <= clip_floor)
    # Longest run of consecutive flat rows.
    padded = np.concatenate(([0], flat.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    starts, ends = edges[::2], edges[1::2]
    if len(starts) == 0:
        return None
    longest = int(np.argmax(ends - starts))
    start, end = int(starts[longest]), int(ends[longest])
    if end - start < min_run:
        return None
    value = int(mosaic[start, 0])
    where = "the bottom" if end == height else f"rows {start}–{end - 1}"
    below = " (at or below black)" if value <= black else ""
    kind = "zero" if value == 0 else f"the constant {value}{below}"
    return (f"implausible image data: {end - start} of {height} rows at {where} are exactly {kind} "
            "(data missing or overwritten; truncated or corrupt file)")
