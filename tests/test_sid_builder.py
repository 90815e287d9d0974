"""The `sid` builder on variants of the manual directory: split archive parts, an extracted
tree, missing files, corrupt RAWs; and the content of the examples it writes."""

from __future__ import annotations

import io
import logging
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_sid  # noqa: F401  (registers `sid`)
from keras_lowlight.runtime import raw
from tfds_sid.sid import sid_dataset_builder as sid

DUMMY = Path(sid.__file__).parent / "dummy_data"


def _build(tmp_path: Path, config: str, manual_dir: Path):
    builder = tfds.builder(f"sid/{config}", data_dir=tmp_path / "data")
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
    return builder


def _examples(builder, split: str) -> list[dict]:
    return list(tfds.as_numpy(builder.as_dataset(split=split)))


def test_sony_examples_hold_sid_render_and_raw_frames(tmp_path):
    builder = _build(tmp_path, "sony", DUMMY)
    examples = {int(e["scene_id"]): e for e in _examples(builder, "train")}
    assert sorted(examples) == [1, 2]
    scene = examples[1]
    with zipfile.ZipFile(DUMMY / "Sony.zip") as archive:
        long_bytes = archive.read("Sony/long/00001_00_10s.ARW")
        short_bytes = archive.read("Sony/short/00001_00_0.04s.ARW")
    np.testing.assert_array_equal(scene["long_srgb"], raw.render_srgb("00001_00_10s.ARW", data=long_bytes))
    files = [f.decode() for f in scene["short"]["file"]]
    assert sorted(files) == ["00001_00_0.04s.ARW", "00001_00_0.1s.ARW", "00001_01_0.04s.ARW"]
    i = files.index("00001_00_0.04s.ARW")
    np.testing.assert_array_equal(scene["short"]["raw"][i], raw.read_raw("x.ARW", data=short_bytes).mosaic)
    assert scene["short"]["ratio"][i] == pytest.approx(250.0)
    assert scene["short"]["iso"][i] == 200  # from SID's list file
    assert scene["long_exposure"] == 10.0 and scene["long_file"] == b"00001_00_10s.ARW"
    # Since 1.1.0: the clean long exposure mosaic and the file's colour, once per scene.
    long_image = raw.read_raw("00001_00_10s.ARW", data=long_bytes)
    np.testing.assert_array_equal(scene["long_raw"], long_image.mosaic)
    np.testing.assert_allclose(scene["white_balance"], long_image.white_balance, rtol=1e-6)
    np.testing.assert_allclose(scene["xyz_to_cam"], long_image.xyz_to_cam, rtol=1e-6)
    assert scene["long_raw"].shape == scene["long_srgb"].shape[:2]
    assert scene["cfa_pattern"] == b"RGGB" and list(scene["black_levels"]) == [512.0] * 4
    assert scene["long_srgb"].shape == (48, 64, 3) and scene["long_srgb"].dtype == np.uint16
    assert examples[2]["short"]["ratio"][0] == pytest.approx(300.0)  # 30 s / 0.1 s
    # Ratio is stored as measured (SID caps at 300 later, in the input pipeline).
    test_scene = _examples(builder, "test")[0]
    assert test_scene["short"]["ratio"][0] == pytest.approx(10 / 0.033)


def test_split_parts_are_read_in_place_and_fuji_tree_extracted(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    data = (DUMMY / "Sony.zip").read_bytes()
    cuts = [0, len(data) // 3, 2 * len(data) // 3, len(data)]
    for k in range(3):  # SID's Baidu parts: cat SonyPart* > Sony.zip
        (manual / f"SonyPart{k + 1}").write_bytes(data[cuts[k] : cuts[k + 1]])
    builder = _build(tmp_path, "sony", manual)
    # No list files here: splits from the file names give the same scenes.
    assert {s: builder.info.splits[s].num_examples for s in ("train", "validation", "test")} == {
        "train": 2, "validation": 1, "test": 1,
    }
    with zipfile.ZipFile(DUMMY / "Fuji.zip") as archive:
        archive.extractall(manual)
    fuji = _build(tmp_path, "fuji", manual)
    scene = _examples(fuji, "validation")[0]
    assert int(scene["scene_id"]) == 20004
    assert len(scene["cfa_pattern"]) == 36 and scene["black_levels"].shape == (36,)
    assert scene["long_srgb"].shape == (48, 72, 3) and scene["long_srgb"].max() > 0


def test_missing_archive_lists_every_expected_path(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "notes.txt").write_text("nothing here")
    with pytest.raises(sid.MissingSidFilesError) as info:
        _build(tmp_path, "fuji", manual)
    message = str(info.value)
    for expected in ("Fuji.zip", "FujiPart1", str(manual / "Fuji" / "short"), str(manual / "Fuji" / "long")):
        assert expected in message


def _corrupt_copy(tmp_path: Path, victim: str) -> Path:
    manual = tmp_path / "manual"
    manual.mkdir()
    for name in ("Sony_train_list.txt", "Sony_val_list.txt", "Sony_test_list.txt"):
        shutil.copy(DUMMY / name, manual / name)
    with zipfile.ZipFile(DUMMY / "Sony.zip") as src, zipfile.ZipFile(manual / "Sony.zip", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == victim:
                data = data[:200]  # truncated download
            dst.writestr(info, data)
    return manual


def test_corrupt_short_frame_is_skipped_with_a_warning(tmp_path, monkeypatch, caplog):
    manual = _corrupt_copy(tmp_path, "Sony/short/00001_01_0.04s.ARW")
    monkeypatch.setattr(sid.Builder, "MAX_FAILED_FRACTION", 0.2)
    with caplog.at_level(logging.WARNING, logger=sid.__name__):
        builder = _build(tmp_path, "sony", manual)
    assert "00001_01_0.04s.ARW" in caplog.text
    scene = next(e for e in _examples(builder, "train") if int(e["scene_id"]) == 1)
    assert sorted(f.decode() for f in scene["short"]["file"]) == ["00001_00_0.04s.ARW", "00001_00_0.1s.ARW"]


def test_unreadable_long_exposure_is_reported_with_its_scene(tmp_path, monkeypatch, caplog):
    manual = _corrupt_copy(tmp_path, "Sony/long/00002_00_30s.ARW")
    monkeypatch.setattr(sid.Builder, "MAX_FAILED_FRACTION", 0.5)
    with caplog.at_level(logging.WARNING, logger=sid.__name__):
        builder = _build(tmp_path, "sony", manual)
    assert [int(e["scene_id"]) for e in _examples(builder, "train")] == [1]
    summary = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert summary and "00002 (long exposure 00002_00_30s.ARW unreadable)" in summary[-1]


def test_missing_or_damaged_archive_member_stops_naming_it(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    for name in ("Sony_val_list.txt", "Sony_test_list.txt"):
        shutil.copy(DUMMY / name, manual / name)
    listed = (DUMMY / "Sony_train_list.txt").read_text()
    (manual / "Sony_train_list.txt").write_text(listed + listed.splitlines()[1].replace("00001_00_0.04s", "00001_07_0.04s") + "\n")
    shutil.copy(DUMMY / "Sony.zip", manual / "Sony.zip")
    with pytest.raises(sid.SidArchiveError, match=r"short/00001_07_0.04s.ARW .*missing") as info:
        _build(tmp_path, "sony", manual)
    assert "\n" not in str(info.value)
    # A member whose compressed bytes are damaged (CRC mismatch) names itself too.
    (manual / "Sony_train_list.txt").write_text(listed)
    blob = bytearray((DUMMY / "Sony.zip").read_bytes())
    with zipfile.ZipFile(DUMMY / "Sony.zip") as archive:
        info_ = archive.getinfo("Sony/long/00002_00_30s.ARW")
    data_start = info_.header_offset + 30 + len(info_.filename.encode()) + len(info_.extra)
    for k in range(40):  # flip bytes inside the member's data
        blob[data_start + 100 + k] ^= 0xFF
    (manual / "Sony.zip").write_bytes(bytes(blob))
    with pytest.raises(sid.SidArchiveError, match=r"long/00002_00_30s.ARW .*cannot be extracted"):
        _build(tmp_path / "again", "sony", manual)


def test_more_than_one_percent_corrupt_stops_the_build(tmp_path):
    manual = _corrupt_copy(tmp_path, "Sony/long/00002_00_30s.ARW")
    with pytest.raises(sid.TooManyCorruptFilesError, match="00002_00_30s.ARW"):
        _build(tmp_path, "sony", manual)


def test_list_file_parsing():
    text = "./Sony/short/00001_00_0.04s.ARW ./Sony/long/00001_00_10s.ARW ISO200 F8\n\n"
    text += "./Sony/short/00001_00_0.1s.ARW ./Sony/long/00001_00_10s.ARW ISO200 F8\n"
    scenes = sid._parse_list(text, "Sony")
    assert list(scenes) == ["long/00001_00_10s.ARW"]
    assert [s.name for s in scenes["long/00001_00_10s.ARW"]] == ["short/00001_00_0.04s.ARW", "short/00001_00_0.1s.ARW"]
    assert scenes["long/00001_00_10s.ARW"][0].iso == 200


def test_concatenated_parts_behave_like_one_file(tmp_path):
    from etils import epath

    blob = bytes(range(256)) * 40
    paths = []
    for k, (a, b) in enumerate([(0, 1000), (1000, 1001), (1001, len(blob))]):
        p = tmp_path / f"part{k}"
        p.write_bytes(blob[a:b])
        paths.append(epath.Path(p))
    f = io.BufferedReader(sid._ConcatenatedFile(paths))
    assert f.read() == blob
    f.seek(995)
    assert f.read(10) == blob[995:1005]
    f.seek(-5, io.SEEK_END)
    assert f.read() == blob[-5:]
