"""Truncated and corrupt RAW files are refused before LibRaw zero-fills them into a "normal" frame."""

from __future__ import annotations

import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from keras_lowlight.runtime.dng import write_dng
from keras_lowlight.runtime.errors import RawReadError
from keras_lowlight.runtime.raw import read_raw
from keras_lowlight.runtime.rawcheck import container_problem, mosaic_problem

SONY_SHAPE = (2848, 4256)  # the a7S II's full mosaic: ~24 MB as an uncompressed DNG


@pytest.fixture(scope="module")
def sony_sized_arw(tmp_path_factory) -> Path:
    """A full-size 12 MP Bayer frame in a genuine DNG container under an SID .ARW name."""
    rng = np.random.default_rng(1)
    mosaic = (512 + rng.poisson(40, SONY_SHAPE)).astype(np.uint16)
    return write_dng(tmp_path_factory.mktemp("arw") / "00001_00_0.04s.ARW", mosaic, "RGGB", exposure_time=0.04)


def test_whole_file_passes_and_every_cut_is_refused(write_raw, tmp_path):
    path, mosaic = write_raw("00001_00_0.1s.dng", shape=(48, 64))
    data = path.read_bytes()
    assert container_problem(data) is None
    # Every cut inside the header and IFD, then every 7th byte through the pixel data.
    cuts = list(range(8, 600)) + list(range(600, len(data), 7))
    for cut in cuts:
        assert container_problem(data[:cut]) is not None, cut
    # And through the reader: a clean RawReadError naming the file, for a sample of cuts.
    for cut in [1, 4, 7, *cuts[::40]]:
        target = tmp_path / "cut.dng"
        target.write_bytes(data[:cut])
        with pytest.raises(RawReadError, match="cut.dng"):
            read_raw(target)


def test_xtrans_cut_is_refused(write_raw, xtrans_pattern, tmp_path):
    path, _ = write_raw("00001_00_0.1s.RAF", cfa=xtrans_pattern, shape=(48, 60), black_level=1024)
    data = path.read_bytes()
    target = tmp_path / "cut.RAF"
    target.write_bytes(data[: len(data) - 100])
    with pytest.raises(RawReadError, match="truncated"):
        read_raw(target)


@pytest.mark.parametrize("fraction", [0.9, 0.5, 0.999])
def test_real_canon_dng_cut_is_refused(canon_dng, tmp_path, fraction):
    data = canon_dng.read_bytes()
    assert container_problem(data) is None
    target = tmp_path / "colorchart.dng"
    target.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(RawReadError, match="truncated: the raw image data is declared up to byte"):
        read_raw(target)


def test_sony_sized_file_cut_at_4mb_and_90_percent(sony_sized_arw, tmp_path):
    data = sony_sized_arw.read_bytes()
    assert len(data) > 20_000_000
    for name, cut in (("cut_4mb.ARW", 4_000_000), ("cut_90pct.ARW", int(len(data) * 0.9))):
        target = tmp_path / name
        target.write_bytes(data[:cut])
        out = subprocess.run([sys.executable, "-m", "keras_lowlight.cli", "info", str(target)],
                             capture_output=True, text=True)
        assert out.returncode == 2 and out.stdout == ""
        assert out.stderr.count("\n") == 1 and name in out.stderr and "truncated" in out.stderr, out.stderr


def test_checks_take_milliseconds(sony_sized_arw):
    data = sony_sized_arw.read_bytes()
    mosaic = read_raw(sony_sized_arw).mosaic
    start = time.perf_counter()
    for _ in range(5):
        assert container_problem(data) is None
        assert container_problem(data[: len(data) // 2]) is not None
        assert mosaic_problem(mosaic, 512, 16383) is None
    per_file = (time.perf_counter() - start) / 5
    assert per_file < 0.1, f"{per_file * 1e3:.1f} ms per file"  # measured ~5 ms; generous for a busy CI


def test_flat_rows_are_implausible(tmp_path):
    rng = np.random.default_rng(0)
    mosaic = (600 + rng.poisson(30, (96, 64))).astype(np.uint16)
    zero_filled = mosaic.copy()
    zero_filled[60:] = 0  # what LibRaw gives for missing data
    write_dng(tmp_path / "zeros.dng", zero_filled)
    with pytest.raises(RawReadError, match="36 of 96 rows at the bottom are exactly zero"):
        read_raw(tmp_path / "zeros.dng")
    constant = mosaic.copy()
    constant[10:40] = 4000
    write_dng(tmp_path / "const.dng", constant)
    with pytest.raises(RawReadError, match="rows 10–39 are exactly the constant 4000"):
        read_raw(tmp_path / "const.dng")
    # Saturated rows (a blown-out sky) and a few flat rows are real pictures.
    saturated = mosaic.copy()
    saturated[:50] = 16383
    write_dng(tmp_path / "sky.dng", saturated)
    assert read_raw(tmp_path / "sky.dng").height == 96
    clipped_below_white = mosaic.copy()
    clipped_below_white[:50] = 13584  # a sensor that saturates below the declared white level
    write_dng(tmp_path / "clip.dng", clipped_below_white)
    assert read_raw(tmp_path / "clip.dng").height == 96
    assert mosaic_problem(np.vstack([mosaic, np.zeros((7, 64), np.uint16)]), 512, 16383) is None


def test_looping_and_duplicated_ifd_offsets_terminate(write_raw):
    path, _ = write_raw("loop.dng")
    data = bytearray(path.read_bytes())
    (first,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, first)
    struct.pack_into("<I", data, first + 2 + 12 * count, first)  # next IFD = itself
    assert container_problem(bytes(data)) is None  # the loop is followed once, the file is fine
    struct.pack_into("<I", data, first + 2 + 12 * count, 0xFFFFFFF0)  # next IFD far outside
    assert container_problem(bytes(data)) is None
    struct.pack_into("<I", data, 4, 0xFFFFFFF0)  # first IFD outside the file
    assert "first IFD" in container_problem(bytes(data))


def test_raf_and_bmff_declared_sizes():
    raf = bytearray(b"FUJIFILMCCD-RAW 0201FF383501" + b"X-T2".ljust(32, b"\0") + bytes(200))
    struct.pack_into(">II", raf, 84, 148, 10)
    struct.pack_into(">II", raf, 92, 158, 10)
    struct.pack_into(">II", raf, 100, 168, 32)
    assert container_problem(bytes(raf)) is None
    assert "CFA data" in container_problem(bytes(raf[:190]))
    boxes = struct.pack(">I4s", 24, b"ftyp") + b"crx " + bytes(12) + struct.pack(">I4s", 1000, b"moov")
    assert "moov" in container_problem(boxes + bytes(100))
    assert container_problem(boxes + bytes(992)) is None


def test_offsets_without_byte_counts_are_left_to_libraw(write_raw):
    """Panasonic RW2 and some others declare StripOffsets without StripByteCounts: not an error."""
    path, _ = write_raw("rw2like.dng")
    data = bytearray(path.read_bytes())
    (first,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, first)
    for i in range(count):
        at = first + 2 + 12 * i
        if struct.unpack_from("<H", data, at)[0] == 279:
            struct.pack_into("<H", data, at, 0xC5D0)  # StripByteCounts renamed to a private tag
    assert container_problem(bytes(data)[:-100]) is None
