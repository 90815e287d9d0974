"""mobile/MODEL_CONTRACT.json describes every shipped .tflite exactly (the web and Android clients read it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keras_lowlight.runtime.contract import REPO, check_model, load_contract

SHIPPED = sorted(p for p in (REPO / "saved_models").glob("*/*.tflite"))


def test_every_shipped_tflite_has_a_matching_entry():
    contract = load_contract()
    entries = {m["file"]: m for m in contract["models"]}
    assert SHIPPED, "no .tflite under saved_models/"
    for path in SHIPPED:
        rel = path.relative_to(REPO).as_posix()
        assert rel in entries, f"{rel} has no entry in mobile/MODEL_CONTRACT.json"
        assert check_model(entries[rel], path) == [], rel
    for file in entries:
        assert (REPO / file).exists(), f"contract names a missing file: {file}"


@pytest.mark.parametrize("pattern", ["RGGB", "BGGR", "GRBG", "GBRG"])
def test_contract_preprocessing_is_what_the_python_runtime_does_to_a_real_file(tmp_path, pattern):
    """A genuine DNG whose sites encode colour and row (R, green on R's row, B, green on B's row)
    and their cell, with per-site black levels, read and prepared by the runtime: channel k must
    hold the site the contract names as channel k, normalised with the contract's formula and
    amplified with its ratio rule."""
    import numpy as np

    from keras_lowlight.runtime.dng import write_dng
    from keras_lowlight.runtime.enhance import amplification_ratio, prepare_input
    from keras_lowlight.runtime.raw import read_raw

    pre = load_contract()["preprocessing"]
    h, w = 24, 32
    grid = np.array(list(pattern)).reshape(2, 2)
    r_row = int(np.argwhere(grid == "R")[0][0])
    site_code = {"R": 1000, "G1": 2000, "B": 3000, "G2": 4000}
    name = lambda y, x: grid[y % 2, x % 2] if grid[y % 2, x % 2] != "G" else ("G1" if y % 2 == r_row else "G2")
    cell = np.arange((h // 2) * (w // 2)).reshape(h // 2, w // 2)
    mosaic = np.array([[site_code[name(y, x)] + cell[y // 2, x // 2] for x in range(w)] for y in range(h)], np.uint16)
    blacks = (500.0, 510.0, 520.0, 530.0)  # per CFA site, in file order
    black_map = np.array(blacks).reshape(2, 2)
    white = 16383
    target = pre["ratio"]["default_target_exposure_s"]
    exposure = target / 2.5  # a ratio of 2.5: no site saturates, so every value is compared
    path = write_dng(tmp_path / f"00001_00_{exposure:g}s.ARW", mosaic, pattern, black_level=blacks,
                     white_level=white, exposure_time=exposure)
    image = read_raw(path)
    ratio = amplification_ratio(image)
    assert ratio == pytest.approx(min(max(target / exposure, 1.0), pre["ratio"]["max"])) == pytest.approx(2.5)
    packed = prepare_input(image, ratio)
    assert packed.shape == (h // 2, w // 2, 4)
    for k, channel in enumerate(pre["bayer_channel_order"]):
        dy, dx = next((y, x) for y in range(2) for x in range(2) if name(y, x) == channel)
        raw = mosaic[dy::2, dx::2].astype(np.float64)
        black = black_map[dy, dx]
        expected = np.clip(np.clip((raw - black) / (white - black), 0, 1) * min(ratio, pre["ratio"]["max"]), 0, 1)
        assert 0 < expected.min() and expected.max() < 0.9  # nothing clipped: the comparison bites
        np.testing.assert_allclose(packed[..., k], expected, rtol=1e-5, err_msg=f"{pattern} channel {k} ({channel})")


def test_fixed_tile_models_match_their_tile_advice():
    # Every client needs a model with one fixed input shape (LiteRT.js, CompiledModel).
    fixed = [m for m in load_contract()["models"] if m["tile"]["fixed"]]
    assert fixed and all(m["input"]["shape"][1] == m["tile"]["size"] for m in fixed)


def test_check_model_reports_a_mismatch(tmp_path):
    contract = load_contract()
    entry = dict(contract["models"][0])
    entry["scale"] = 3
    problems = check_model(entry, REPO / entry["file"])
    assert problems and "scale" in problems[0]
    assert Path(REPO / entry["file"]).exists()
