"""The project's ISP (renders RAW-head outputs with the file's colour): conventions, and how
close it stays to LibRaw's render of SID's ground truth (benchmarks/isp_vs_libraw.py measures more)."""

from __future__ import annotations

import numpy as np
import pytest

from keras_lowlight.runtime import isp, packing
from keras_lowlight.models.metrics import delta_e2000_np, psnr_np
from keras_lowlight.runtime.packing import XTRANS_REFERENCE
from keras_lowlight.runtime.unprocess import XYZ_TO_CAMERAS, mosaic


@pytest.mark.parametrize("pattern", ["RGGB", "BGGR", "GRBG", "GBRG"])
def test_malvar_reproduces_smooth_images_exactly_inside(pattern):
    y, x = np.mgrid[0:40, 0:48].astype(np.float64)
    rgb = np.stack([0.2 + 0.004 * x, 0.3 + 0.003 * y, 0.1 + 0.002 * (x + y)], -1)  # linear ramps
    out = isp.demosaic_malvar(mosaic(rgb, pattern), pattern)
    np.testing.assert_allclose(out[3:-3, 3:-3], rgb[3:-3, 3:-3], atol=2e-6)
    # … while a colour edge is not linear: the test could fail
    assert not np.allclose(isp.demosaic_malvar(mosaic(np.where(x[..., None] < 20, rgb, 1 - rgb), pattern), pattern),
                           np.where(x[..., None] < 20, rgb, 1 - rgb), atol=1e-3)


@pytest.mark.parametrize("pattern", ["GBRG", XTRANS_REFERENCE])
def test_a_camera_neutral_renders_neutral_grey_with_any_matrix(pattern):
    wb = (2.1, 1.0, 1.7)
    grey = np.ones((48, 60, 3)) * 0.2 / np.asarray(wb)  # camera RGB of a grey under that light
    packed = packing.pack(mosaic(grey, pattern), pattern)
    for xyz2cam in XYZ_TO_CAMERAS:
        srgb = isp.render_packed(packed, pattern, wb, xyz2cam)
        assert srgb.shape == (48, 60, 3) and srgb.dtype == np.float32
        np.testing.assert_allclose(srgb, isp.bt709_curve(0.2), atol=2e-4)


def test_renders_a_synthetic_scene_close_to_libraw(tmp_path):
    """The project's ISP against LibRaw's postprocess (SID's ground truth) on a clean DNG.
    Measured: 32.7 dB, ΔE 2.1 (the gap is demosaicing: Malvar vs LibRaw's AHD)."""
    from keras_lowlight.data import synthetic
    from keras_lowlight.runtime.raw import read_raw, render_srgb

    scene = synthetic.make_scene(synthetic.scene_plans("test")[1])
    image = read_raw(scene.long_name, data=scene.long_bytes)
    ours = isp.render_packed(image.packed(), image.cfa_pattern, image.white_balance, image.xyz_to_cam)
    libraw = render_srgb(scene.long_name, data=scene.long_bytes).astype(np.float32) / 65535.0
    inner = (slice(8, -8), slice(8, -8))
    assert psnr_np(libraw[inner], ours[inner]) > 31.0
    assert delta_e2000_np(libraw[inner], ours[inner]) < 2.5
    # The colour comes from the file: the Sony table's matrix (another camera's colour) is worse.
    from keras_lowlight.runtime.dng import SONY_A7S2_COLOR_MATRIX

    wrong = isp.render_packed(image.packed(), image.cfa_pattern, image.white_balance,
                              np.asarray(SONY_A7S2_COLOR_MATRIX) / 10000)
    assert delta_e2000_np(libraw[inner], wrong[inner]) > delta_e2000_np(libraw[inner], ours[inner]) + 0.3


def test_delta_e_is_zero_for_equal_images_and_grows_with_a_colour_cast():
    rng = np.random.default_rng(0)
    image = rng.uniform(0.1, 0.9, (16, 16, 3))
    assert delta_e2000_np(image, image) == pytest.approx(0.0, abs=1e-9)
    warm = np.clip(image * [1.15, 1.0, 0.85], 0, 1)
    assert delta_e2000_np(image, warm) > 3.0


def _codes_apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int64) - b.astype(np.int64))


@pytest.mark.parametrize("pattern", ["RGGB", "BGGR", "GRBG", "GBRG", XTRANS_REFERENCE])
def test_the_fast_integer_render_is_within_one_code_of_the_reference(pattern, monkeypatch):
    """`render_packed_quantized` (float32, banded, threaded, lookup-table curve: what `enhance`
    writes for a RAW-head model) against the writers' quantisation of the float64 reference.
    Small bands, odd sizes and values outside [0, 1] exercise the band seams and mirror edges."""
    from keras_lowlight.runtime.writers import quantize

    monkeypatch.setattr(isp, "_BAND_ROWS", 4)
    rng = np.random.default_rng(3)
    channels = packing.layout_for(pattern).channels
    packed = (rng.random((23 if channels == 4 else 12, 17 if channels == 4 else 9, channels)) * 1.3 - 0.1)
    packed = packed.astype(np.float32)
    wb = (2.3, 1.0, 1.6)
    reference = isp.render_packed(packed, pattern, wb, XYZ_TO_CAMERAS[0])
    for bits in (8, 16):
        fast = isp.render_packed_quantized(packed, pattern, wb, XYZ_TO_CAMERAS[0], bits)
        assert fast.dtype == (np.uint8 if bits == 8 else np.uint16) and fast.shape == reference.shape
        apart = _codes_apart(fast, quantize(reference, bits))
        assert apart.max() <= 1 and apart.mean() < 0.05
        np.testing.assert_array_equal(fast, isp.render_packed_quantized(packed, pattern, wb, XYZ_TO_CAMERAS[0],
                                                                          bits, workers=2))
    if channels == 4:  # a frame one packed row high: the reference's own edge handling
        sliver = packed[:1]
        np.testing.assert_array_equal(isp.render_packed_quantized(sliver, pattern, wb, XYZ_TO_CAMERAS[0]),
                                      quantize(isp.render_packed(sliver, pattern, wb, XYZ_TO_CAMERAS[0]), 8))


def test_the_fast_render_lands_on_the_right_side_of_the_bt709_break():
    """The curve jumps 26 16-bit codes at linear 0.018: a grey ramp across it, rendered through
    the lookup table, must agree with the exact curve on every sample."""
    from keras_lowlight.runtime.writers import quantize

    linear = np.linspace(0.018 - 2e-4, 0.018 + 2e-4, 64 * 64).reshape(64, 64)
    grey = np.repeat(linear[..., None], 3, -1)  # camera RGB = sRGB with an identity camera and white balance
    packed = packing.pack(mosaic(grey, "RGGB"), "RGGB")
    fast = isp.render_packed_quantized(packed, "RGGB", (1.0, 1.0, 1.0), np.linalg.inv(isp.RGB_TO_XYZ), 16)
    exact = quantize(isp.bt709_curve(grey).astype(np.float32), 16)
    assert _codes_apart(fast[2:-2, 2:-2], exact[2:-2, 2:-2]).max() <= 1


def test_the_numpy_mirror_convolution_equals_scipys_bit_for_bit():
    """The demosaic's separable convolution is numpy only (the runtime install has no scipy) and
    gives scipy.ndimage.convolve1d(mode="mirror")'s exact values, edges and tiny frames included."""
    from scipy import ndimage

    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        for shape in [(1, 1), (2, 3), (5, 7), (37, 53)]:
            for taps in ([1.0, 2.0, 1.0], [1.0, 2.0, 3.0, 2.0, 1.0]):
                for axis in (0, 1):
                    values = rng.random(shape).astype(dtype)
                    expected = ndimage.convolve1d(values, taps, axis=axis, mode="mirror")
                    actual = isp._convolve1d_mirror(values, taps, axis)
                    assert actual.dtype == expected.dtype and np.array_equal(actual, expected), (dtype, shape, taps)
