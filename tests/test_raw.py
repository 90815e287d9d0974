"""RAW reading through LibRaw on genuine DNG containers, and every kind of bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from keras_lowlight.runtime.errors import RawReadError
from keras_lowlight.runtime.packing import BAYER_PATTERNS
from keras_lowlight.runtime.unprocess import RGB_TO_XYZ
from keras_lowlight.runtime.raw import exposure_from_name, normalize, read_raw


@pytest.mark.parametrize("cfa", BAYER_PATTERNS)
def test_reads_every_bayer_order_bit_exactly(write_raw, cfa):
    path, mosaic = write_raw(f"00001_00_0.1s_{cfa}.dng", cfa=cfa, black_level=600, white_level=15000)
    image = read_raw(path)
    assert image.cfa_pattern == cfa
    assert image.cfa_kind == "bayer"
    np.testing.assert_array_equal(image.mosaic, mosaic)
    np.testing.assert_array_equal(image.black_levels, [600] * 4)
    assert image.white_level == 15000
    assert (image.width, image.height) == (64, 48)


def test_per_site_black_levels_and_metadata(write_raw):
    path, _ = write_raw("frame.dng", cfa="GRBG", black_level=(500, 510, 520, 530), make="Canon",
                        model="EOS 550D", exposure_time=0.25, iso=1600)
    image = read_raw(path)
    np.testing.assert_array_equal(image.black_levels, [500, 510, 520, 530])
    assert image.camera == "Canon EOS 550D"
    assert image.exposure_time == pytest.approx(0.25)
    assert image.iso == 1600


def test_sid_file_name_gives_exposure(write_raw):
    path, _ = write_raw("10034_00_0.033s.ARW")  # no EXIF exposure written
    assert read_raw(path).exposure_time == pytest.approx(0.033)
    assert exposure_from_name("00001_00_10s.RAF") == 10.0
    assert exposure_from_name("IMG_0001.CR2") is None


def test_normalize_uses_file_levels(write_raw):
    path, mosaic = write_raw("levels.dng", black_level=2056, white_level=15000)
    image = read_raw(path)
    expected = np.clip((mosaic.astype(np.float32) - 2056) / (15000 - 2056), 0, 1)
    np.testing.assert_allclose(image.normalized(), expected, rtol=1e-6)
    assert image.normalized().min() >= 0 and image.normalized().max() <= 1


def test_normalize_clips_below_black():
    x = np.array([[0, 512], [16383, 20000]], np.uint16)
    out = normalize(x, [512] * 4, 16383, 2)
    np.testing.assert_allclose(out, [[0, 0], [1, 1]])


def test_reads_xtrans_dng(write_raw, xtrans_pattern):
    path, mosaic = write_raw("00001_00_0.1s.RAF", cfa=xtrans_pattern, shape=(48, 60), black_level=1024,
                             make="Fujifilm", model="X-T2")
    image = read_raw(path)
    assert image.cfa_kind == "xtrans"
    assert image.cfa_pattern == xtrans_pattern
    np.testing.assert_array_equal(image.mosaic, mosaic)
    assert image.packed().shape == (16, 20, 9)


# --- bad input -----------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(RawReadError, match="no such file"):
        read_raw(tmp_path / "nope.ARW")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.ARW"
    p.write_bytes(b"")
    with pytest.raises(RawReadError, match="empty file"):
        read_raw(p)


def test_non_raw_file(tmp_path):
    p = tmp_path / "notes.ARW"
    p.write_text("this is not a raw file\n" * 100)
    with pytest.raises(RawReadError, match="not a RAW file"):
        read_raw(p)


def test_jpeg_is_not_raw(tmp_path):
    from PIL import Image

    p = tmp_path / "photo.dng"
    Image.new("RGB", (64, 64), (200, 10, 10)).save(p, format="JPEG")
    with pytest.raises(RawReadError):
        read_raw(p)


def test_truncated_file(write_raw, tmp_path):
    path, _ = write_raw("full.dng", shape=(64, 96))
    data = Path(path).read_bytes()
    cut = tmp_path / "cut.dng"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(RawReadError, match=str(cut.name)):
        read_raw(cut)


def test_directory(tmp_path):
    with pytest.raises(RawReadError, match="directory"):
        read_raw(tmp_path)


def test_linear_dng_is_unsupported(tmp_path):
    import tifffile

    p = tmp_path / "linear.dng"
    rgb = np.full((32, 32, 3), 1000, np.uint16)
    tifffile.imwrite(p, rgb, photometric=34892, extratags=[(50706, "B", 4, (1, 4, 0, 0), True),
                                                            (50717, "I", 1, 16383, True)])
    with pytest.raises(RawReadError):
        read_raw(p)


def test_unsupported_cfa_layout(tmp_path):
    from keras_lowlight.runtime.dng import write_dng

    p = tmp_path / "odd.dng"
    # A 6x6 layout that is no phase of X-Trans.
    write_dng(p, np.full((36, 36), 600, np.uint16), "RGGBRG" * 6)
    with pytest.raises(RawReadError, match="unsupported"):
        read_raw(p)


# --- CLI -----------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keras_lowlight.cli", *args], capture_output=True, text=True)


def test_cli_info(write_raw):
    path, _ = write_raw("00001_00_0.04s.ARW", exposure_time=0.04, iso=3200)
    out = _cli("info", str(path))
    assert out.returncode == 0, out.stderr
    assert "Sony ILCE-7SM2" in out.stdout
    assert "RGGB" in out.stdout and "512" in out.stdout and "16383" in out.stdout
    assert "0.04 s" in out.stdout and "64 x 48" in out.stdout


@pytest.mark.parametrize("content", [b"", b"garbage" * 50])
def test_cli_info_bad_file_is_one_line(tmp_path, content):
    p = tmp_path / "bad.ARW"
    p.write_bytes(content)
    out = _cli("info", str(p))
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "bad.ARW" in out.stderr


def test_cli_help_lists_commands():
    out = _cli("--help")
    assert out.returncode == 0 and "info" in out.stdout


# --- a genuine camera file ----------------------------------------------------------------


def test_real_canon_dng_levels_come_from_the_file(canon_dng):
    image = read_raw(canon_dng)
    assert image.cfa_pattern == "RGGB"
    np.testing.assert_array_equal(image.black_levels, [2056] * 4)  # not Sony's 512
    assert image.white_level == 15000  # not Sony's 16383
    assert "EOS" in image.camera
    assert (image.width, image.height) == (1734, 1156)
    packed = image.packed()
    assert packed.shape == (578, 867, 4) and 0 <= packed.min() and packed.max() <= 1
    # A colour chart under light: every channel carries signal above black.
    assert (packed.reshape(-1, 4).mean(0) > 0.01).all()
    # Colour comes from the file: the DNG's ColorMatrix, not the sRGB fallback.
    assert image.xyz_to_cam.shape == (3, 3)
    assert not np.allclose(image.xyz_to_cam, np.linalg.inv(RGB_TO_XYZ), atol=1e-3)


def test_every_subcommand_has_a_handler():
    from keras_lowlight.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    assert len(sub.choices) >= 10
    for name, subparser in sub.choices.items():
        assert callable(subparser._defaults.get("handler")), name
