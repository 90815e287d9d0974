"""mobile/MODEL_CONTRACT.json describes every shipped .tflite exactly (the web and Android clients read it)."""

from __future__ import annotations

from pathlib import Path

from keras_lowlight.contract import REPO, check_model, load_contract

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


def test_contract_states_the_preprocessing_the_python_code_does():
    from keras_lowlight.data import MAX_RATIO
    from keras_lowlight.packing import layout_for

    pre = load_contract()["preprocessing"]
    assert pre["ratio"]["max"] == MAX_RATIO
    assert pre["bayer_channel_order"] == ["R", "G1", "B", "G2"]
    assert layout_for("RGGB").index == (0, 1, 3, 2)  # R, G1 (row of R), B, G2 (row of B)
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
