"""The fast `lowlight enhance`: no TensorFlow on the LiteRT path, quiet, lean, and the same pixels
as the first release (its code is restated here as the reference)."""

from __future__ import annotations

import io
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from keras_lowlight.runtime import enhance as enhance_lib
from keras_lowlight.runtime import engine as runtime, writers
from keras_lowlight.runtime.dng import write_dng
from keras_lowlight.runtime.packing import XTRANS_REFERENCE
from keras_lowlight.runtime.raw import read_raw

REPO = Path(__file__).resolve().parent.parent
SHIPPED_INT8 = REPO / "saved_models" / "mobile_bayer" / "model_int8.tflite"


def _dark_mosaic(shape, black=512, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(black + rng.poisson(30, shape) + rng.normal(0, 3, shape), 0, 16383).astype(np.uint16)


# === The first release's pipeline, restated as the reference ===


def first_release_enhance_frame(engine, packed, tile, overlap):
    """runtime.enhance_frame as first released: the frame is mirror-padded with np.pad."""
    import math

    h, w, _ = packed.shape
    m, s = engine.multiple, engine.scale
    tile_h, over_h, core_h = runtime.tile_plan(h, tile, overlap, m)
    tile_w, over_w, core_w = runtime.tile_plan(w, tile, overlap, m)
    rows, cols = math.ceil(h / core_h), math.ceil(w / core_w)
    padded = np.pad(packed.astype(np.float32), ((over_h, rows * core_h - h + over_h),
                                                (over_w, cols * core_w - w + over_w), (0, 0)), mode="symmetric")
    out = np.empty((h * s, w * s, 3), np.float32)
    for r in range(rows):
        for q in range(cols):
            y0, x0 = r * core_h, q * core_w
            result = engine.run(padded[None, y0 : y0 + tile_h, x0 : x0 + tile_w])
            ch, cw = min(core_h, h - y0), min(core_w, w - x0)
            out[y0 * s : (y0 + ch) * s, x0 * s : (x0 + cw) * s] = result[
                0, over_h * s : (over_h + ch) * s, over_w * s : (over_w + cw) * s]
    return out


def first_release_pixels(srgb):
    srgb = np.clip(srgb, 0.0, 1.0)
    return (srgb * 65535.0 + 0.5).astype(np.uint16), (srgb * 255.0 + 0.5).astype(np.uint8)


def decode_png(data: bytes) -> np.ndarray:
    """libpng's reading (through TensorFlow), independent of the writer under test."""
    import tensorflow as tf

    depth = tf.uint16 if data[24] == 16 else tf.uint8
    return tf.io.decode_png(data, dtype=depth).numpy()


# === Tests ===


def test_prepare_packed_equals_the_reference_bit_for_bit(tmp_path):
    for name, cfa, shape, blacks in (
        ("b.dng", "GBRG", (70, 98), (500, 510, 520, 530)),
        ("u.dng", "RGGB", (70, 98), 512),  # one black level: the table path
        ("x.dng", XTRANS_REFERENCE[6:] + XTRANS_REFERENCE[:6], (78, 96), 1024),  # phase-shifted X-Trans
    ):
        path = write_dng(tmp_path / name, _dark_mosaic(shape, black=1100), cfa, black_level=blacks)
        image = read_raw(path)
        for ratio in (1.0, 123.4, 300.0):
            expected = enhance_lib.prepare_input(image, ratio)
            actual = enhance_lib.prepare_packed(image, ratio)
            assert actual.dtype == np.float32 and actual.shape == expected.shape
            assert np.array_equal(actual.view(np.uint32), expected.view(np.uint32)), (name, ratio)
    assert len(set(np.asarray(read_raw(tmp_path / "b.dng").black_levels).tolist())) == 4  # really per site


def test_png_writer_round_trips_every_depth_filter_and_odd_size():
    rng = np.random.default_rng(1)
    for dtype in (np.uint8, np.uint16):
        top = np.iinfo(dtype).max
        image = rng.integers(0, top + 1, (writers.ROW_BLOCK * 2 + 37, 53, 3), dtype=np.int64).astype(dtype)
        for row_filter, strategy in ((0, zlib.Z_DEFAULT_STRATEGY), (1, zlib.Z_RLE), (2, zlib.Z_HUFFMAN_ONLY)):
            f = io.BytesIO()
            writers.write_png(f, image, level=1, row_filter=row_filter, strategy=strategy)
            data = f.getvalue()
            assert np.array_equal(decode_png(data), image), (dtype, row_filter)
            # The zlib stream checks its own adler32: one valid stream across the parallel blocks.
            assert zlib.decompress(b"".join(_idat(data)))


def _idat(data: bytes):
    pos = 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"IDAT":
            yield data[pos + 8 : pos + 8 + length]
        pos += 12 + length


def _srgb_int8() -> Path:
    """An int8 sRGB-head model (the first release's kind; the shipped model has the RAW head now)."""
    from export_artifacts import artifacts

    return artifacts("export") / "tiny_int8.tflite"


def test_output_pixels_equal_the_first_release(tmp_path):
    """Same input, same int8 sRGB-head model: the files written now hold exactly the pixels the first
    release's code (np.pad tiler, prepare_input, quantisation, tf.io.encode_png) produces."""
    SHIPPED_INT8 = _srgb_int8()
    path = write_dng(tmp_path / "00001_00_0.04s.ARW", _dark_mosaic((260, 390)), "RGGB", exposure_time=0.04)
    report = enhance_lib.enhance([path], tmp_path / "new", model=str(SHIPPED_INT8), fmt="png16,png8,tiff",
                                 progress=False, tile=192)
    png16, png8, tiff = report.written[str(path)]
    image = read_raw(path)
    engine = runtime.LiteRTEngine(SHIPPED_INT8, num_threads=2)
    srgb = first_release_enhance_frame(engine, enhance_lib.prepare_input(image, 250.0), tile=192,
                                       overlap=runtime.DEFAULT_OVERLAP)
    expected16, expected8 = first_release_pixels(srgb)
    assert expected8.std() > 1  # a real picture, not a constant
    assert np.array_equal(decode_png(png16.read_bytes()), expected16)
    assert np.array_equal(decode_png(png8.read_bytes()), expected8)
    import tifffile

    assert np.array_equal(tifffile.imread(tiff), expected16)


def test_a_batch_runs_in_lanes_and_writes_the_same_pixels(tmp_path):
    """A folder runs in two lanes of one-thread interpreters (`lanes_for`); every file still gets
    exactly the first release's pixels, whichever lane ran it."""
    SHIPPED_INT8 = _srgb_int8()
    assert enhance_lib.lanes_for(3, threads=2, backend="tflite") == 2
    assert enhance_lib.lanes_for(1, threads=2, backend="tflite") == 1  # one file: one lane, all threads
    assert enhance_lib.lanes_for(3, threads=2, backend="keras") == 1
    folder = tmp_path / "in"
    folder.mkdir()
    paths = [write_dng(folder / f"0000{i}_00_0.04s.ARW", _dark_mosaic((200, 300), seed=i), "RGGB", exposure_time=0.04)
             for i in range(3)]
    report = enhance_lib.enhance([folder], tmp_path / "out", model=str(SHIPPED_INT8), progress=False, tile=192)
    assert not report.failed and len(report.written) == 3
    engine = runtime.LiteRTEngine(SHIPPED_INT8, num_threads=2)
    for path in paths:
        srgb = first_release_enhance_frame(engine, enhance_lib.prepare_input(read_raw(path), 250.0), tile=192,
                                           overlap=runtime.DEFAULT_OVERLAP)
        (png8,) = report.written[str(path)]
        assert np.array_equal(decode_png(png8.read_bytes()), first_release_pixels(srgb)[1]), path.name


def test_formats_choose_the_files_written(tmp_path):
    (tmp_path / "in").mkdir()
    path = write_dng(tmp_path / "in" / "a.dng", _dark_mosaic((64, 96)), "RGGB")
    for spec, names in (("png8", ["a.png"]), ("tiff,png8", ["a.png", "a.tiff"]),
                        ("png", ["a.png", "a_16bit.png"]), (None, ["a.png"])):
        out = tmp_path / f"out-{spec}"
        enhance_lib.enhance([path], out, model=str(SHIPPED_INT8), fmt=spec, progress=False)
        assert sorted(p.name for p in out.iterdir()) == names, spec
    with pytest.raises(writers.FormatError, match="unknown format 'jpeg'"):
        writers.parse_formats("png8,jpeg")


CHECK_NO_TF = """
import sys
from keras_lowlight.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in ("tensorflow", "keras", "tf_keras", "tensorflow_datasets") if m in sys.modules)
print("LOADED:" + ",".join(loaded))
sys.exit(code)
"""


def test_litert_path_imports_no_tensorflow_and_prints_no_native_logs(tmp_path):
    """`lowlight enhance` with the shipped model (LiteRT by default): TensorFlow and Keras are never
    imported, and stderr holds nothing but the progress bar (no INFO/absl/CUDA lines)."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        write_dng(folder / f"0000{i}_00_0.04s.ARW", _dark_mosaic((64, 96), seed=i), "RGGB", exposure_time=0.04)
    out = subprocess.run([sys.executable, "-c", CHECK_NO_TF, "enhance", str(folder), "-o", str(tmp_path / "out"),
                          "--format", "png8"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "LOADED:\n" in out.stdout, out.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["00000_00_0.04s.png", "00001_00_0.04s.png"]
    noise = [line for line in out.stderr.replace("\r", "\n").splitlines() if line and not line.startswith("enhance:")]
    assert noise == [], out.stderr


def test_keras_backend_still_works_and_is_quiet(tmp_path):
    """The Keras backend imports TensorFlow (allowed) but its absl/oneDNN/CUDA lines stay hidden."""
    from keras_lowlight import models

    keras_path = tmp_path / "tiny.keras"
    models.get("tiny_mobile", cfa="bayer").save(keras_path)
    path = write_dng(tmp_path / "00001_00_0.04s.ARW", _dark_mosaic((64, 96)), "RGGB", exposure_time=0.04)
    out = subprocess.run([sys.executable, "-c", CHECK_NO_TF, "enhance", str(path), "-o", str(tmp_path / "out"),
                          "--model", str(keras_path), "--format", "png16"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "LOADED:keras,tensorflow" in out.stdout  # auto picked Keras for a .keras file
    assert (tmp_path / "out" / "00001_00_0.04s_16bit.png").exists()
    noise = [line for line in out.stderr.replace("\r", "\n").splitlines() if line and not line.startswith("enhance:")]
    assert noise == [], out.stderr


def test_noise_filter_keeps_real_errors():
    from keras_lowlight.runtime.quiet import is_noise

    assert is_noise(b"I0000 00:00:1796185129.975628   22720 port.cc:153] oneDNN custom operations are on.\n")
    assert is_noise(b"E0000 00:00:1796185065.572307   20987 cuda_platform.cc:52] failed call to cuInit: x\n")
    assert is_noise(b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    assert is_noise(b"fully_quantize: 0, inference_type: 6, input_inference_type: FLOAT32, "
                    b"output_inference_type: FLOAT32\n")
    assert not is_noise(b"fully_quantize failed: unsupported op\n")
    assert not is_noise(b"E0000 00:00:1.2   1 op_kernel.cc:1] OOM when allocating tensor\n")
    assert not is_noise(b"lowlight: error: a.ARW: truncated or corrupt RAW data\n")
    assert not is_noise(b"Epoch 1/3\n")
