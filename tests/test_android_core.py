"""The Android sample's pure-Kotlin core (mobile/android/core) compiled here and checked against Python.

The app's Android shell compiles in the same kotlinc run against compile-only stand-ins for the
Android SDK and LiteRT's Kotlin API (tests/android_stubs): it proves the shell fits the core's
API and LiteRT's published signatures, not the Android calls themselves.

Debian's kotlinc 1.3 compiles the core and its JUnit 4 tests once per source hash (cached in the
temp folder); Python writes the goldens — DNG fixtures, `prepare_input` arrays, `enhance_frame`
outputs with a stand-in model — and the Kotlin tests must equal them to the bit. The same fixture
table then goes through the Python, web and Kotlin readers and their verdicts are compared.

Needs `make android-deps` (Debian's kotlin, junit4, libandroid-json-java). Without them the tests
skip with that message — except in CI (CI=true), where a missing tool is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from reader_fixtures import CLIENTS, verdict_kind, write_fixtures

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "mobile" / "android" / "core"
SHELL = REPO / "mobile" / "android" / "app" / "src" / "main" / "java"
STUBS = Path(__file__).resolve().parent / "android_stubs"
WEB = REPO / "mobile" / "web"
JARS = {
    "libandroid-json-java": Path("/usr/share/java/com.android.json.jar"),
    "junit4": Path("/usr/share/java/junit4.jar"),
    "junit4 (hamcrest)": Path("/usr/share/java/hamcrest-core.jar"),
    "kotlin (stdlib)": Path("/usr/share/java/kotlin-stdlib.jar"),
}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BUILD_NOTE: list[str] = []  # how the jar came to be, for the terminal summary
# Another Kotlin compiler for the same tests, e.g. Kotlin 2.x's kotlinc-jvm (npm's `kotlin-compiler`
# ships the full distribution): LOWLIGHT_KOTLINC=/path/bin/kotlinc-jvm. Warnings are then errors,
# so a deprecation that Kotlin 2 turns into an error shows up here first.
KOTLINC = os.environ.get("LOWLIGHT_KOTLINC", "kotlinc")
if "LOWLIGHT_KOTLINC" in os.environ:
    JARS["kotlin (stdlib)"] = Path(KOTLINC).resolve().parent.parent / "lib" / "kotlin-stdlib.jar"


def _require(missing: list[str], what: str) -> None:
    if not missing:
        return
    message = f"{what} needs {', '.join(missing)}: run `make android-deps`"
    if IN_CI:
        pytest.fail(f"CI must run the Kotlin tests; {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def kotlin_jar() -> Path:
    """Core + tests compiled by kotlinc into one jar, reused while no .kt file changes."""
    missing = [name for name, jar in JARS.items() if not jar.exists()]
    missing += [tool for tool in (KOTLINC, "java") if shutil.which(tool) is None]
    _require(missing, "the Kotlin core tests")
    # The core, its tests, and the Android shell with compile-only stand-ins for the Android SDK and
    # LiteRT (tests/android_stubs/README.md): one kotlinc run, ~10 s of CPU less than two.
    sources = sorted(CORE.glob("src/*/kotlin/**/*.kt")) + sorted(SHELL.glob("**/*.kt")) + sorted(STUBS.glob("*.kt"))
    digest = hashlib.sha256(KOTLINC.encode())
    for path in sources:
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    cache = Path(tempfile.gettempdir()) / "keras_lowlight_kotlin" / digest.hexdigest()[:16]
    jar = cache / "core-tests.jar"
    if jar.exists():
        BUILD_NOTE.append(f"kotlin: {len(sources)} files, cached build of this source hash")
        return jar
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / f"building-{os.getpid()}.jar"
    start = time.perf_counter()
    out = subprocess.run(
        [KOTLINC, *(["-Werror"] if KOTLINC != "kotlinc" else []), *map(str, sources),
         "-cp", os.pathsep.join(str(j) for j in JARS.values()), "-d", str(partial)],
        capture_output=True, text=True, timeout=600,
    )
    errors = [line for line in out.stderr.splitlines() if "error:" in line or "exception" in line.lower()]
    assert out.returncode == 0 and partial.exists(), "\n".join(errors or out.stderr.splitlines()[-30:])
    partial.replace(jar)
    BUILD_NOTE.append(f"kotlin: compiled {len(sources)} files with {KOTLINC} in {time.perf_counter() - start:.1f} s")
    return jar


class StandIn:
    """Python twin of StandInModel (Support.kt): same float32 operations in the same order.

    `head="raw"` makes it a RAW-head stand-in: scale 1, as many output channels as input channels.
    """

    def __init__(self, channels: int, scale: int, multiple: int, head: str = "srgb"):
        self.channels, self.multiple, self.head = channels, multiple, head
        self.scale, self.out_channels = (1, channels) if head == "raw" else (scale, 3)
        self.calls = 0

    def run(self, tile: np.ndarray) -> np.ndarray:
        self.calls += 1
        t = np.asarray(tile[0], np.float32)
        up = np.zeros_like(t)
        up[1:] = t[:-1]
        left = np.zeros_like(t)
        left[:, 1:] = t[:, :-1]
        v = (t + np.float32(0.5) * up) - np.float32(0.25) * left
        h, w, c = t.shape
        s = self.scale
        yy, xx = np.meshgrid(np.arange(h * s), np.arange(w * s), indexing="ij")
        channel = (((yy % s) * s + xx % s)[..., None] + np.arange(self.out_channels)) % c
        return v[(yy // s)[..., None], (xx // s)[..., None], channel][None]


def _python_verdict(path: Path) -> tuple[dict, np.ndarray | None, float | None]:
    from keras_lowlight.runtime.enhance import amplification_ratio, prepare_input
    from keras_lowlight.runtime.errors import LowlightError
    from keras_lowlight.runtime.raw import read_raw

    try:
        image = read_raw(path)
        ratio = amplification_ratio(image)
        packed = prepare_input(image, ratio)
    except LowlightError as e:
        return {"ok": False, "error": str(e)}, None, None
    return {"ok": True, "cfa": image.cfa_pattern, "shape": list(packed.shape)}, packed, ratio


@pytest.fixture(scope="session")
def goldens(tmp_path_factory, request) -> dict:
    """Fixture table, Python's packed inputs and stand-in tiled outputs, and a manifest for Kotlin."""
    from keras_lowlight.runtime.contract import load_contract
    from keras_lowlight.runtime.engine import enhance_frame

    folder = tmp_path_factory.mktemp("android_goldens")
    try:
        canon = request.getfixturevalue("canon_dng")
    except pytest.skip.Exception as e:
        if IN_CI:
            pytest.fail(f"CI compares the Kotlin reader on the real Canon DNG, which could not be fetched: {e}")
        BUILD_NOTE.append(f"kotlin: without the Canon EOS 550D DNG ({e})")
        canon = None
    table = write_fixtures(folder / "dng", canon)
    manifest: dict = {"packing": [], "tiling": [], "verdicts": []}
    python_verdicts, packed_by_name = {}, {}
    for fixture in table:
        verdict, packed, ratio = _python_verdict(fixture.path)
        python_verdicts[fixture.name] = verdict
        manifest["verdicts"].append({"name": fixture.name, "dng": str(fixture.path), "file_name": fixture.path.name})
        if packed is not None:
            packed_by_name[fixture.name] = packed
            packed.astype("<f4").tofile(folder / f"{fixture.name}.packed.f32")
            manifest["packing"].append({"name": fixture.name, "dng": str(fixture.path), "file_name": fixture.path.name,
                                        "cfa": verdict["cfa"], "ratio": ratio, "shape": list(packed.shape),
                                        "packed": f"{fixture.name}.packed.f32"})

    fixed = next(m for m in load_contract()["models"] if m["cfa"] == "bayer" and m["tile"]["fixed"])["tile"]
    cases = [  # name, packed source, crop, tile, overlap, multiple, shrink, head
        ("bayer_RGGB", "bayer_RGGB", None, 48, 16, 16, True, "srgb"),
        ("bayer_GBRG_fixed", "bayer_GBRG", None, 32, 8, 8, False, "srgb"),
        ("bayer_tiny_5x7", "bayer_BGGR", (5, 7), 48, 16, 16, False, "srgb"),
        ("xtrans", "xtrans", None, 32, 8, 8, True, "srgb"),
        ("xtrans_phase_fixed", "xtrans_phase", None, 24, 4, 4, False, "srgb"),
        ("bayer_raw_head", "bayer_GRBG", None, 32, 8, 8, True, "raw"),
        ("xtrans_raw_head_fixed", "xtrans", None, 24, 4, 4, False, "raw"),
        ("canon_contract_tile", "canon_eos_550d", None, fixed["size"], fixed["overlap"], fixed["multiple"], False, "srgb"),
    ]
    for name, source, crop, tile, overlap, multiple, shrink, head in cases:
        if source not in packed_by_name:
            continue
        packed = packed_by_name[source]
        if crop:
            packed = np.ascontiguousarray(packed[: crop[0], : crop[1]])
        channels = packed.shape[-1]
        engine = StandIn(channels, 2 if channels == 4 else 3, multiple, head)
        out = enhance_frame(engine, packed, tile=tile, overlap=overlap, shrink=shrink)
        assert out.shape == (packed.shape[0] * engine.scale, packed.shape[1] * engine.scale, engine.out_channels)
        packed.astype("<f4").tofile(folder / f"{name}.in.f32")
        out.astype("<f4").tofile(folder / f"{name}.out.f32")
        manifest["tiling"].append({"name": name, "input": f"{name}.in.f32", "expected": f"{name}.out.f32",
                                   "shape": list(packed.shape), "tile": tile, "overlap": overlap, "multiple": multiple,
                                   "shrink": shrink, "scale": engine.scale, "out_channels": engine.out_channels,
                                   "tiles": engine.calls})
    # After a RAW-head model: its packed output rendered with the file's colour (isp.render_packed).
    # The packed inputs stand in for model outputs; the Canon frame is cropped to keep it quick.
    from keras_lowlight.runtime.isp import render_packed
    from keras_lowlight.runtime.raw import read_raw

    manifest["render"] = []
    for name, crop in (("bayer_RGGB", None), ("bayer_GBRG", None), ("xtrans", None), ("xtrans_phase", None),
                       ("canon_eos_550d", (slice(100, 228), slice(200, 392)))):
        if name not in packed_by_name:
            continue
        fixture = next(f for f in table if f.name == name)
        image = read_raw(fixture.path)
        packed = packed_by_name[name] if crop is None else np.ascontiguousarray(packed_by_name[name][crop])
        srgb = render_packed(packed, image.cfa_pattern, image.white_balance, image.xyz_to_cam)
        packed.astype("<f4").tofile(folder / f"{name}.render_in.f32")
        srgb.astype("<f4").tofile(folder / f"{name}.render_out.f32")
        manifest["render"].append({
            "name": name, "dng": str(fixture.path), "cfa": image.cfa_pattern, "shape": list(packed.shape),
            "input": f"{name}.render_in.f32", "expected": f"{name}.render_out.f32",
            "white_balance": [float(v) for v in image.white_balance],
            "xyz_to_cam": [float(v) for v in np.asarray(image.xyz_to_cam, np.float64).ravel()],
        })
    # Every shipped model as its .tflite describes itself (LiteRT in Python), for the contract parser.
    from keras_lowlight.runtime.contract import REPO as _repo
    from keras_lowlight.runtime.contract import describe_model_io

    manifest["contracts"] = []
    for entry in load_contract()["models"]:
        info = describe_model_io(_repo / entry["file"])
        manifest["contracts"].append({
            "name": Path(entry["file"]).name, "file": entry["file"], "signature": info["signature"],
            "input_name": info["input"]["name"], "output_name": info["output"]["name"],
            "channels": info["input"]["channels"], "input_shape": info["input"]["shape"],
            "output_channels": info["output"]["channels"], "scale": info["scale"],
            "quantization": info["quantization"], "head": info.get("head", "srgb"),
        })

    # The automatic ratio (keras_lowlight.runtime.exposure, `--ratio auto`), when the contract states it,
    # on every packed fixture and on a frame with no usable signal (black level + faint noise).
    from keras_lowlight.runtime.contract import load_contract as _load

    manifest["auto"] = []
    if "auto" in _load()["preprocessing"]["ratio"]:
        from keras_lowlight.runtime.dng import write_dng
        from keras_lowlight.runtime.enhance import prepare_input
        from keras_lowlight.runtime.errors import LowlightError
        from keras_lowlight.runtime.exposure import estimate_ratio

        rng = np.random.default_rng(5)
        dark = write_dng(folder / "dark.dng", 512 + rng.integers(-1, 2, (48, 64)), "RGGB")  # mean ≈ black
        dim = write_dng(folder / "dim.dng", 512 + rng.integers(0, 80, (48, 64)), "GBRG")  # ratio ≈ 75
        sources = [(f.name, f.path) for f in table if f.name in packed_by_name] + [("dim", dim), ("no_signal", dark)]
        for name, path in sources:
            image = read_raw(path)
            case = {"name": name, "dng": str(path)}
            try:
                ratio = estimate_ratio(image)
            except LowlightError as e:
                case["error"] = str(e)
            else:
                prepare_input(image, ratio).astype("<f4").tofile(folder / f"{name}.auto.f32")
                case.update(ratio=ratio, packed=f"{name}.auto.f32")
            manifest["auto"].append(case)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return {"folder": folder, "table": table, "manifest": manifest, "python": python_verdicts}


@pytest.fixture(scope="session")
def kotlin_run(kotlin_jar, goldens) -> dict:
    """Every JUnit test, strict (a skipped test fails the run), against the goldens."""
    classpath = os.pathsep.join([str(kotlin_jar), *(str(j) for j in JARS.values())])
    env = {**os.environ, "LOWLIGHT_FIXTURES": str(goldens["folder"]), "LOWLIGHT_STRICT": "1"}
    start = time.perf_counter()
    out = subprocess.run(["java", "-cp", classpath, "io.github.keraslowlight.core.AllTests"], cwd=CORE, env=env,
                         capture_output=True, text=True, timeout=600)
    return {"out": out, "seconds": time.perf_counter() - start}


def test_kotlin_core_equals_python(kotlin_run, goldens, capsys):
    """All JUnit tests pass; packed inputs and tiled outputs equal Python's (max |diff| = 0)."""
    out = kotlin_run["out"]
    summary = re.search(r"kotlin tests: (\d+) run, (\d+) passed, (\d+) failed, (\d+) skipped", out.stdout)
    lines = [line for line in out.stdout.splitlines() if line.startswith(("packing ", "tiling ", "render ", "auto ratio ", "contract ", "fuzz: ", "kotlin tests"))]
    with capsys.disabled():
        print("\n" + "\n".join(BUILD_NOTE + lines) + f"\nkotlin: JUnit run took {kotlin_run['seconds']:.1f} s")
    failures = [line for line in out.stdout.splitlines() if line.startswith(("FAILED", "SKIPPED"))]
    assert out.returncode == 0 and summary, "\n".join(failures) + out.stdout[-3000:] + out.stderr[-2000:]
    run, passed, failed, skipped = map(int, summary.groups())
    assert failed == 0 and skipped == 0 and passed == run
    manifest = goldens["manifest"]
    # One golden test per packed fixture and tiling case, all of which printed a zero difference.
    packed = {case["name"] for case in manifest["packing"]}
    assert {f"bayer_{cfa}" for cfa in ("RGGB", "BGGR", "GRBG", "GBRG")} | {"sid_name", "xtrans", "xtrans_phase",
                                                                          "activearea_bayer"} <= packed
    assert len(manifest["tiling"]) >= 7
    assert len(re.findall(r"^contract \S+: .*as the file says$", out.stdout, flags=re.M)) == len(manifest["contracts"]) >= 3
    diffs = re.findall(r"^(?:packing|tiling) .*max \|kotlin - python\| = (\S+)$", out.stdout, flags=re.M)
    assert len(diffs) == len(manifest["packing"]) + len(manifest["tiling"])
    assert all(float(d) == 0.0 for d in diffs), diffs
    # The render after a RAW-head model: float arithmetic in another order, so a stated tolerance.
    # The automatic ratio: a float64 mean summed in another order, so the ratio to 1e-12 and the
    # packed input to one float32 step; a frame without signal refused by both.
    auto = re.findall(r"auto ratio \S+: (refused|ratio .* max \|kotlin - python\| = (\S+))", out.stdout)
    assert len(auto) == len(manifest["auto"]), auto
    assert all(verdict == "refused" or float(diff) <= 6e-8 for verdict, diff in auto), auto
    render = re.findall(r"render \S+: .*with Python's colour = ([^,]+), with the DNG's own = ([^ ]+)", out.stdout)
    assert len(render) == len(manifest["render"]) >= 4, render
    assert all(float(same) <= 1e-6 and float(own) <= 1e-5 for same, own in render), render


def test_android_shell_compiles_against_the_core(kotlin_jar):
    """MainActivity and LiteRtTileModel (the app's only Android code) compiled with the core."""
    import zipfile

    names = set(zipfile.ZipFile(kotlin_jar).namelist())
    for cls in ("MainActivity", "LiteRtTileModel"):
        assert f"io/github/keraslowlight/{cls}.class" in names, cls
    # The core itself imports nothing from Android, AndroidX or LiteRT.
    for path in CORE.glob("src/main/kotlin/**/*.kt"):
        imports = re.findall(r"^import ([\w.]+)", path.read_text(), flags=re.M)
        assert not [i for i in imports if i.startswith(("android.", "androidx.", "com.google.ai.edge"))], path


def test_stand_in_model_shows_tiling_mistakes():
    """The stand-in looks one pixel up and left, so tiles that dropped their overlap would differ."""
    from keras_lowlight.runtime.engine import enhance_frame, enhance_untiled

    packed = np.random.default_rng(3).random((37, 53, 4), dtype=np.float32)
    engine = StandIn(4, 2, 8)
    whole = enhance_untiled(engine, packed)
    tiled = enhance_frame(engine, packed, tile=32, overlap=8)
    np.testing.assert_array_equal(tiled[2:, 2:], whole[2:, 2:])  # mirror padding differs on the top/left edge
    no_overlap = enhance_frame(engine, packed, tile=16, overlap=0)
    assert not np.array_equal(no_overlap[2:, 2:], whole[2:, 2:])


def test_python_web_and_kotlin_readers_agree(kotlin_run, goldens, capsys):
    """The shared fixture table: the same verdict kind from all three readers, one-line messages."""
    from keras_lowlight.runtime.contract import CONTRACT_PATH

    if shutil.which("node") is None:
        _require(["node"], "the web reader's verdicts")
    web_out = goldens["folder"] / "web_verdicts.json"
    out = subprocess.run(["node", str(WEB / "tests" / "verdicts.mjs"), str(web_out), str(CONTRACT_PATH),
                          str(goldens["folder"] / "manifest.json")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    verdicts = {
        "python": goldens["python"],
        "web": json.loads(web_out.read_text()),
        "kotlin": json.loads((goldens["folder"] / "kotlin_results" / "verdicts.json").read_text()),
    }
    rows, problems = [], []
    for fixture in goldens["table"]:
        kinds = {client: verdict_kind(verdicts[client][fixture.name]) for client in CLIENTS}
        rows.append(f"{fixture.name:<18} " + "  ".join(f"{c}={kinds[c]:<15}" for c in CLIENTS))
        for client in CLIENTS:
            verdict = verdicts[client][fixture.name]
            if kinds[client] != fixture.expected(client):
                problems.append(f"{fixture.name}: {client} says {verdict}, expected {fixture.expected(client)}")
            if not verdict["ok"] and ("\n" in verdict["error"] or not verdict["error"].strip()):
                problems.append(f"{fixture.name}: {client}'s message is not one line: {verdict['error']!r}")
        accepted = [verdicts[c][fixture.name] for c in CLIENTS if kinds[c] == "ok"]
        if any((v["cfa"], list(v["shape"])) != (accepted[0]["cfa"], list(accepted[0]["shape"])) for v in accepted):
            problems.append(f"{fixture.name}: readers disagree on CFA or packed shape: {accepted}")
    notes = sorted({f"{c}: {why}" for f in goldens["table"] for c, (_, why) in f.differs.items()})
    with capsys.disabled():
        print("\nreader verdicts (python / web / kotlin):\n" + "\n".join(rows) + "\nstated differences: " + "; ".join(notes))
    assert not problems, "\n".join(problems)


def test_web_reader_refuses_corrupt_files_in_one_line(goldens):
    """The web reader on seeded corruptions of the table's good files (FuzzTest.kt does the same in Kotlin)."""
    if shutil.which("node") is None:
        _require(["node"], "the web reader's fuzz test")
    good = [str(f.path) for f in goldens["table"] if f.expect == "ok" and f.name != "canon_eos_550d"]
    out = subprocess.run(["node", str(WEB / "tests" / "fuzz.mjs"), "3000", *good], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["other"] == {}, result["other"]
    assert result["read"] > 0 and result["rejected"] > 0

