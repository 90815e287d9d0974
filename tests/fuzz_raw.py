"""A seeded mutation fuzzer for RAW containers (used by tests/test_fuzz.py and the hostile corpus).

Mutations of a valid TIFF/DNG file: truncation at any offset, byte flips in the header/IFD region
and in the pixel data, IFD entries whose count or value is set to an extreme, and IFD links made
to loop (next IFD = itself or an earlier one, SubIFDs pointing back to IFD 0) or to point outside
the file. Each case is reproducible from (seed file, case number).
"""

from __future__ import annotations

import math
import random
import re
import struct
from collections.abc import Callable

import numpy as np

from keras_lowlight.runtime import packing
from keras_lowlight.runtime.errors import RawReadError
from keras_lowlight.runtime.raw import read_raw

EXTREMES = (0, 1, 2, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF)


def _ifd_entries(data: bytes) -> tuple[str, int, list[int]]:
    """(endian, first IFD offset, file positions of IFD 0's 12-byte entries)."""
    endian = "<" if data[:2] == b"II" else ">"
    (first,) = struct.unpack_from(endian + "I", data, 4)
    (count,) = struct.unpack_from(endian + "H", data, first)
    return endian, first, [first + 2 + 12 * i for i in range(count)]


def truncate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    # Half the cuts inside the first 2 kB (header, IFD, tag values), half anywhere.
    cut = rng.randrange(1, min(len(data), 2048)) if rng.random() < 0.5 else rng.randrange(1, len(data))
    return f"truncate@{cut}", data[:cut]


def flip_header(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    out = bytearray(data)
    spots = [rng.randrange(0, min(len(data), 1024)) for _ in range(rng.randint(1, 4))]
    for spot in spots:
        out[spot] ^= 1 << rng.randrange(8) if rng.random() < 0.5 else rng.randrange(1, 256)
    return f"flip-header@{','.join(map(str, spots))}", bytes(out)


def flip_data(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    out = bytearray(data)
    spots = [rng.randrange(1024, len(data)) for _ in range(rng.randint(1, 64))] if len(data) > 1024 else [0]
    for spot in spots:
        out[spot] = rng.randrange(256)
    return f"flip-data x{len(spots)}", bytes(out)


def extreme_tag(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    out = bytearray(data)
    endian, _, entries = _ifd_entries(data)
    position = rng.choice(entries)
    (tag,) = struct.unpack_from(endian + "H", data, position)
    value = rng.choice(EXTREMES)
    field = rng.choice(("count", "value", "type"))
    if field == "count":
        struct.pack_into(endian + "I", out, position + 4, value)
    elif field == "value":
        struct.pack_into(endian + "I", out, position + 8, value)
    else:
        struct.pack_into(endian + "H", out, position + 2, value & 0xFFFF)
    return f"tag{tag}.{field}={value:#x}", bytes(out)


def loop_ifd(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    out = bytearray(data)
    endian, first, entries = _ifd_entries(data)
    next_link = first + 2 + 12 * len(entries)
    kind = rng.choice(("self", "header", "outside", "subifd-loop", "subifd-dup"))
    if kind == "self":
        struct.pack_into(endian + "I", out, next_link, first)
    elif kind == "header":
        struct.pack_into(endian + "I", out, 4, rng.choice((first, first + 12, 0, 2, len(data) - 2)))
    elif kind == "outside":
        struct.pack_into(endian + "I", out, next_link, rng.choice((len(data), len(data) + 4096, 0xFFFFFFFF)))
    else:
        # Turn one entry into SubIFDs (tag 330) pointing back at IFD 0 (once, or many times).
        position = rng.choice(entries[1:])
        n = 1 if kind == "subifd-loop" else 1000
        struct.pack_into(endian + "HHII", out, position, 330, 4, n, first if n == 1 else 8)
    return f"ifd-{kind}", bytes(out)


MUTATIONS: tuple[Callable[[bytes, random.Random], tuple[str, bytes]], ...] = (
    truncate, flip_header, flip_data, extreme_tag, loop_ifd,
)


def mutate(data: bytes, seed: int) -> tuple[str, bytes]:
    rng = random.Random(seed)
    mutation = rng.choice(MUTATIONS)
    return mutation(data, rng)


def sanity_problem(image) -> str | None:
    """Why a decoded frame is not sane (None when its size, CFA and levels are plausible)."""
    m = image.mosaic
    if m.ndim != 2 or m.dtype != np.uint16 or min(m.shape) < 22:
        return f"mosaic {m.shape} {m.dtype}"
    try:
        layout = packing.layout_for(image.cfa_pattern)
    except ValueError as e:
        return f"cfa: {e}"
    blacks = np.asarray(image.black_levels, np.float64)
    if blacks.size != layout.period ** 2 or not np.all(np.isfinite(blacks)) or blacks.min() < 0:
        return f"black levels {blacks}"
    if not (blacks.max() < image.white_level <= 65535):
        return f"white level {image.white_level} vs black {blacks.max()}"
    if not all(math.isfinite(v) and v > 0 for v in image.white_balance):
        return f"white balance {image.white_balance}"
    if image.xyz_to_cam is None or not np.all(np.isfinite(image.xyz_to_cam)):
        return "xyz_to_cam not finite"
    packed = image.packed()
    if packed.shape != layout.packed_shape(*m.shape) or not (0 <= packed.min() and packed.max() <= 1):
        return f"packed {packed.shape}"
    return None


def run_case(name: str, data: bytes) -> tuple[str, str]:
    """('decoded' | 'refused', detail). Anything else — another exception, an insane decode, an
    error message of several lines or without the file name — raises AssertionError."""
    try:
        image = read_raw(name, data=data)
    except RawReadError as e:
        message = str(e)
        assert "\n" not in message and name in message, message
        return "refused", re.split(r"[\d'(:]", e.reason)[0].strip()
    problem = sanity_problem(image)
    assert problem is None, problem
    return "decoded", image.cfa_kind
