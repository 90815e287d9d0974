"""The tiler: tiled == untiled away from the border, for Keras and LiteRT; bad input handling."""

from __future__ import annotations

import time
import numpy as np
import pytest

from export_artifacts import artifacts, synthetic_batch
from keras_lowlight import models
from keras_lowlight.runtime import engine as runtime


@pytest.fixture(scope="module")
def built():
    return artifacts("export")


def frame(h: int, w: int, channels: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (h, w, channels)).astype(np.float32)


def interior(a: np.ndarray, margin: int) -> np.ndarray:
    return a[margin:-margin, margin:-margin]


# (preset, overrides, tile, overlap): overlap ≥ the receptive-field radius in packed pixels.
# ResNet-SE tiny without SE: 6 convs 3×3 → radius 6 (<16). U-Net: 4 poolings, radius > 64 → 112.
EXACT_CASES = [
    ("tiny", {"use_se": False}, 48, 16),
    ("tiny_mobile", {"use_se": False}, 48, 16),
    ("tiny_unet", {}, 256, 112),
]


@pytest.mark.parametrize("preset, overrides, tile, overlap", EXACT_CASES)
def test_tiled_equals_untiled_interior_keras(preset, overrides, tile, overlap):
    model = models.get(preset, "bayer", **overrides)
    engine = runtime.KerasEngine(model)
    x = frame(*((300, 270) if preset == "tiny_unet" else (90, 130)))
    full = runtime.enhance_untiled(engine, x)
    tiled = runtime.enhance_frame(engine, x, tile=tile, overlap=overlap)
    assert tiled.shape == full.shape == (2 * x.shape[0], 2 * x.shape[1], 3)
    margin = 2 * overlap  # output pixels: the untiled model zero-pads, the tiler mirrors
    np.testing.assert_allclose(interior(tiled, margin), interior(full, margin), atol=1e-5)
    # … and the border really differs (mirror vs zero padding), so the test can fail.
    assert np.abs(tiled - full).max() > 1e-4


def test_tiled_equals_untiled_interior_litert(built):
    engine = runtime.LiteRTEngine(built / "plain_float32.tflite", num_threads=2)
    x = frame(100, 140, seed=3)
    full = runtime.enhance_untiled(engine, x)
    tiled = runtime.enhance_frame(engine, x, tile=48, overlap=16)
    np.testing.assert_allclose(interior(tiled, 32), interior(full, 32), atol=1e-5)
    # Every tile had one shape: one interpreter, allocated once (plus the untiled one).
    assert len(engine._interpreters) == 2


def test_litert_and_keras_through_the_same_tiler(built):
    keras_engine = runtime.KerasEngine(built / "plain.keras")
    lite_engine = runtime.LiteRTEngine(built / "plain_float32.tflite")
    x = synthetic_batch(1, size=(70, 90), seed=2)[0][0]
    a = runtime.enhance_frame(keras_engine, x, tile=48, overlap=16)
    b = runtime.enhance_frame(lite_engine, x, tile=48, overlap=16)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_se_model_is_only_approximately_tileable(built):
    """Squeeze-and-Excitation pools globally: tiles see their own channel means (documented)."""
    engine = runtime.LiteRTEngine(built / "tiny_float32.tflite")
    x = synthetic_batch(1, size=(96, 128), seed=6)[0][0]
    full, tiled = runtime.enhance_untiled(engine, x), runtime.enhance_frame(engine, x, tile=64, overlap=16)
    diff = interior(full - tiled, 32)
    assert 0 < np.abs(diff).max() < 0.25
    assert 10 * np.log10(1 / np.mean(diff**2)) > 30


def test_frame_smaller_than_a_tile_and_odd_sizes():
    engine = runtime.KerasEngine(models.get("tiny_unet", "bayer"))
    for h, w in [(5, 7), (37, 53)]:
        out = runtime.enhance_frame(engine, frame(h, w), tile=256, overlap=32)
        assert out.shape == (2 * h, 2 * w, 3) and np.isfinite(out).all()


def test_tile_plan_aligns_to_the_multiple():
    assert runtime.tile_plan(1000, 250, 30, 16) == (256, 32, 192)
    assert runtime.tile_plan(20, 512, 32, 16) == (96, 32, 32)  # shrunk for a small frame
    with pytest.raises(runtime.RuntimeInputError, match="no core"):
        runtime.tile_plan(1000, 64, 32, 16)


def test_bad_frames_are_clear_errors(built):
    engine = runtime.LiteRTEngine(built / "plain_float32.tflite")
    assert (engine.channels, engine.scale) == (4, 2)
    with pytest.raises(runtime.RuntimeInputError, match="9 channels but the model takes 4"):
        runtime.enhance_frame(engine, frame(32, 32, channels=9))
    with pytest.raises(runtime.RuntimeInputError, match=r"\(H, W, C\)"):
        runtime.enhance_frame(engine, np.zeros((32, 32), np.float32))
    with pytest.raises(runtime.RuntimeInputError, match="float"):
        runtime.enhance_frame(engine, np.zeros((32, 32, 4), np.uint16))


def test_bad_model_files(tmp_path):
    with pytest.raises(runtime.RuntimeInputError, match="no such file"):
        runtime.load_engine(tmp_path / "missing.tflite")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"junk" * 10)
    with pytest.raises(runtime.LowlightError, match="not a TFLite model"):
        runtime.load_engine(junk)
    other = tmp_path / "model.onnx"
    other.write_bytes(b"x")
    with pytest.raises(runtime.RuntimeInputError, match=".tflite or .keras"):
        runtime.load_engine(other)


def test_two_threads_swapping_stderr_leave_it_where_it_was():
    """Two batch lanes create their interpreters at once: each swap of file descriptor 2 must end
    where it started (without the lock, the second saved the first's capture file as "original"
    and stderr stayed on a deleted temporary file: a batch's error lines were lost)."""
    import os
    import threading

    from keras_lowlight.runtime.engine import quiet_native_info

    before = os.fstat(2).st_ino
    first_inside, second_started = threading.Event(), threading.Event()

    def first():
        with quiet_native_info():
            first_inside.set()
            second_started.wait(5)
            time.sleep(0.2)  # the second thread tries to swap meanwhile

    def second():
        first_inside.wait(5)
        second_started.set()
        with quiet_native_info():
            time.sleep(0.5)  # leaves after the first: it would restore the first's capture file

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert os.fstat(2).st_ino == before
