"""`lowlight enhance` end to end on genuine DNG files, with both backends and bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from keras_lowlight.runtime import enhance as enhance_lib
from keras_lowlight.runtime.dng import write_dng
from keras_lowlight.runtime.packing import XTRANS_REFERENCE
from keras_lowlight.runtime.raw import read_raw


def _dark_mosaic(shape, black=512, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(black + rng.poisson(30, shape) + rng.normal(0, 3, shape), 0, 16383).astype(np.uint16)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """Tiny untrained Bayer and X-Trans models as .keras and float32 .tflite (converted in a
    subprocess: TFLite conversion leaks memory in TF 2.21)."""
    from keras_lowlight import models

    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for cfa in ("bayer", "xtrans"):
        keras_path = folder / f"tiny_{cfa}.keras"
        models.get("tiny_mobile", cfa=cfa).save(keras_path)
        tflite_path = folder / f"tiny_{cfa}.tflite"
        out = subprocess.run([sys.executable, "-m", "keras_lowlight.cli", "convert", str(keras_path), "-o",
                              str(tflite_path), "--mode", "float32"], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]
        paths[cfa] = {"keras": keras_path, "tflite": tflite_path}
    return paths


@pytest.mark.parametrize("backend", ["keras", "tflite"])
def test_bayer_and_xtrans_outputs_have_the_right_size(tmp_path, tiny_models, backend):
    bayer = write_dng(tmp_path / "00001_00_0.1s.ARW", _dark_mosaic((100, 134)), "GRBG", exposure_time=0.1)
    xtrans = write_dng(tmp_path / "00002_00_0.1s.RAF", _dark_mosaic((96, 120), black=1024), XTRANS_REFERENCE,
                       black_level=1024, make="Fujifilm", model="X-T2", exposure_time=0.1)
    for path, cfa, (h, w) in ((bayer, "bayer", (100, 134)), (xtrans, "xtrans", (96, 120))):
        report = enhance_lib.enhance([path], tmp_path / "out", model=str(tiny_models[cfa][backend]),
                                     backend=backend, fmt="png", progress=False)
        assert not report.failed, report.failed
        png16, png8 = report.written[str(path)]
        from PIL import Image

        with Image.open(png8) as im:
            assert im.size == (w, h) and im.mode == "RGB"
        import tensorflow as tf

        decoded = tf.io.decode_png(png16.read_bytes(), dtype=tf.uint16).numpy()
        assert decoded.shape == (h, w, 3) and decoded.dtype == np.uint16


def test_folder_batch_skips_corrupt_files_and_reports_them(tmp_path, tiny_models):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        write_dng(folder / f"0000{i}_00_0.04s.ARW", _dark_mosaic((64, 96), seed=i), "RGGB", exposure_time=0.04)
    (folder / "00009_00_0.04s.ARW").write_bytes(b"\x00" * 100)  # corrupt
    (folder / "notes.txt").write_text("ignored: not a RAW extension")
    out = subprocess.run(
        [sys.executable, "-m", "keras_lowlight.cli", "enhance", str(folder), "-o", str(tmp_path / "out"),
         "--model", str(tiny_models["bayer"]["tflite"]), "--backend", "tflite"],
        capture_output=True, text=True,
    )
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("lowlight: error:")]
    assert len(errors) == 1 and "00009_00_0.04s.ARW" in errors[0]
    assert "Traceback" not in out.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["00000_00_0.04s.png", "00001_00_0.04s.png"]  # the default: one 8-bit PNG each


def test_error_lines_never_share_a_line_with_the_progress_bar(tmp_path, tiny_models, capsys):
    """Deterministic form of the batch test's timing bug: the corrupt file comes first, so the bar's
    initial ``0%`` text is always on stderr before the error is reported."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "00000_00_0.04s.ARW").write_bytes(b"\x00" * 100)  # corrupt, sorted first
    write_dng(folder / "00001_00_0.04s.ARW", _dark_mosaic((64, 96)), "RGGB", exposure_time=0.04)

    def on_error(path, message):
        print(f"lowlight: error: {message}", file=sys.stderr)

    report = enhance_lib.enhance([folder], tmp_path / "out", model=str(tiny_models["bayer"]["tflite"]),
                                 backend="tflite", progress=True, on_error=on_error)
    assert len(report.failed) == 1 and len(report.written) == 1
    stderr = capsys.readouterr().err
    assert "enhance:" in stderr  # the bar did draw
    errors = [line for line in stderr.splitlines() if "lowlight: error:" in line]
    assert len(errors) == 1 and errors[0].startswith("lowlight: error:"), stderr


def test_cfa_mismatch_and_bad_arguments_are_one_line_errors(tmp_path, tiny_models):
    xtrans = write_dng(tmp_path / "x.RAF", _dark_mosaic((60, 60), black=1024), XTRANS_REFERENCE, black_level=1024)
    report = enhance_lib.enhance([xtrans], tmp_path / "o", model=str(tiny_models["bayer"]["keras"]), progress=False)
    assert "expects 4-channel bayer" in report.failed[str(xtrans)]

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "keras_lowlight.cli", "enhance", *args],
                              capture_output=True, text=True)

    blocker = tmp_path / "file"
    blocker.write_text("x")
    for args, message in (
        ([str(xtrans), "-o", str(tmp_path / "o"), "--model", str(tmp_path / "missing.keras")], "model not found"),
        ([str(xtrans), "-o", str(blocker / "sub"), "--model", str(tiny_models["xtrans"]["keras"])], "cannot write"),
        ([str(tmp_path / "nothing-here"), "-o", str(tmp_path / "o")], "no such file"),
    ):
        out = cli(*args)
        assert out.returncode != 0 and message in out.stderr, (args, out.stderr[-500:])
        assert "Traceback" not in out.stderr


def test_ratio_rules(write_raw):
    """An explicit ratio wins, then a target exposure, then a SID file name; otherwise the frame's
    own level decides (`--ratio auto` is the default), even when the file states its exposure."""
    from keras_lowlight.runtime.exposure import estimate_ratio

    path, _ = write_raw("00001_00_0.04s.ARW")
    image = read_raw(path)
    assert enhance_lib.amplification_ratio(image) == pytest.approx(250)
    assert enhance_lib.amplification_ratio(image, target_exposure=30) == pytest.approx(300)  # capped
    assert enhance_lib.amplification_ratio(image, ratio=50) == 50
    auto = estimate_ratio(image)
    assert auto != pytest.approx(250) and enhance_lib.amplification_ratio(image, ratio="auto") == auto
    image.exposure_time = None
    assert enhance_lib.amplification_ratio(image) == pytest.approx(250)  # the name alone is enough
    own, _ = write_raw("IMG_0001.dng", exposure_time=0.04)
    image = read_raw(own)
    assert image.exposure_time == pytest.approx(0.04)
    assert enhance_lib.amplification_ratio(image) == estimate_ratio(image)
    assert enhance_lib.amplification_ratio(image, target_exposure=10) == pytest.approx(250)


def test_outputs_are_written_atomically(tmp_path, monkeypatch):
    """A crash while encoding leaves no partial file behind."""
    from keras_lowlight.runtime.files import write_atomically

    def boom(f):
        f.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomically(tmp_path / "x.png", boom)
    assert list(tmp_path.iterdir()) == []


def test_the_shipped_model_is_chosen_by_the_files_cfa(tmp_path, tiny_models, monkeypatch):
    """No --model: a Bayer file gets mobile_bayer, an X-Trans file mobile_xtrans — and, while no
    X-Trans model is in the models folder, one clear error line for that file (the Bayer file is still done)."""
    import shutil

    shipped = tmp_path / "models"
    for cfa in ("bayer", "xtrans"):
        (shipped / f"mobile_{cfa}").mkdir(parents=True)
        shutil.copy(tiny_models[cfa]["tflite"], shipped / f"mobile_{cfa}" / "model_int8.tflite")
    monkeypatch.setenv("LOWLIGHT_MODELS", str(shipped))
    bayer = write_dng(tmp_path / "b.ARW", _dark_mosaic((48, 64)), "RGGB", exposure_time=0.1)
    xtrans = write_dng(tmp_path / "x.RAF", _dark_mosaic((48, 66), black=1024), XTRANS_REFERENCE, black_level=1024,
                       exposure_time=0.1)
    report = enhance_lib.enhance([bayer, xtrans], tmp_path / "both", progress=False)
    assert not report.failed and set(report.written) == {str(bayer), str(xtrans)}

    shutil.rmtree(shipped / "mobile_xtrans")
    out = subprocess.run([sys.executable, "-m", "keras_lowlight.cli", "enhance", str(bayer), str(xtrans), "-o",
                          str(tmp_path / "bayer_only")], capture_output=True, text=True)
    errors = [line for line in out.stderr.splitlines() if "lowlight: error:" in line]
    assert out.returncode != 0 and len(errors) == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert "no shipped xtrans model" in errors[0] and "--model" in errors[0] and "x.RAF" in errors[0]
    assert list((tmp_path / "bayer_only").glob("b.*"))  # the Bayer file was still enhanced


def test_an_xtrans_dng_gets_the_shipped_xtrans_model_and_is_denoised(tmp_path, monkeypatch):
    """No --model, the checkout's own saved_models/: an X-Trans DNG is enhanced by
    mobile_xtrans (the same bytes as naming that file), and the shipped model really denoises it:
    on a flat grey frame its output is far smoother than the amplified input through the same ISP."""
    from keras_lowlight.runtime import isp

    monkeypatch.delenv("LOWLIGHT_MODELS", raising=False)
    shipped = Path(__file__).resolve().parents[1] / "saved_models" / "mobile_xtrans" / "model_int8.tflite"
    assert enhance_lib.resolve_model_path(None, "xtrans", "tflite") == shipped
    rng = np.random.default_rng(0)
    black, white, ratio = 1024, 16383, 100.0
    level = 0.25 / ratio * (white - black)  # a mid grey once amplified ×100 (10 s / 0.1 s)
    mosaic = black + rng.poisson(level, (96, 120)) + rng.normal(0, 3, (96, 120))
    path = write_dng(tmp_path / "00001_00_0.1s.RAF", np.clip(mosaic, 0, white).astype(np.uint16), XTRANS_REFERENCE,
                     black_level=black, white_level=white, make="Fujifilm", model="X-T2", exposure_time=0.1)
    by_default = enhance_lib.enhance([path], tmp_path / "default", fmt="png16", progress=False)
    named = enhance_lib.enhance([path], tmp_path / "named", model=str(shipped), fmt="png16", progress=False)
    assert not by_default.failed and not named.failed, (by_default.failed, named.failed)
    default_png, named_png = by_default.written[str(path)][0], named.written[str(path)][0]
    assert default_png.read_bytes() == named_png.read_bytes()

    import tensorflow as tf

    enhanced = tf.io.decode_png(default_png.read_bytes(), dtype=tf.uint16).numpy() / 65535.0
    image = read_raw(path)
    amplified = isp.render_packed(enhance_lib.prepare_input(image, ratio), image.cfa_pattern, image.white_balance,
                                  image.xyz_to_cam)
    assert enhanced.shape == amplified.shape == (96, 120, 3)
    core = (slice(12, -12), slice(12, -12))  # away from the mirrored borders
    assert enhanced[core].std(axis=(0, 1)).mean() < 0.5 * amplified[core].std(axis=(0, 1)).mean()
