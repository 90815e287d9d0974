"""Seeded mutation fuzzing of RAW containers: every case ends in a clean one-line `RawReadError`
or in a decode whose size, CFA and levels are sane. LOWLIGHT_FUZZ_CASES=5000 runs more; the case
count and outcome distribution are printed in pytest's terminal summary (CI's log)."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from fuzz_raw import mutate, run_case
from keras_lowlight.runtime.dng import write_dng
from keras_lowlight.runtime.packing import XTRANS_REFERENCE

CASES = int(os.environ.get("LOWLIGHT_FUZZ_CASES", "600"))
CANON_EVERY = 10  # every 10th case mutates the real camera file (it decodes ~30× slower than the fixtures)


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory, canon_dng) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("seeds")
    rng = np.random.default_rng(0)

    def mosaic(shape, black):
        return (black + rng.poisson(200, shape)).astype(np.uint16)

    seeds = {
        "rggb.dng": write_dng(folder / "a.dng", mosaic((48, 64), 512), "RGGB", exposure_time=0.04, iso=3200),
        "gbrg_blacks.ARW": write_dng(folder / "b.dng", mosaic((44, 70), 530), "GBRG",
                                     black_level=(500, 510, 520, 530), white_level=4095),
        "xtrans.RAF": write_dng(folder / "c.dng", mosaic((48, 60), 1024), XTRANS_REFERENCE, black_level=1024,
                                make="Fujifilm", model="X-T2"),
    }
    files = {name: path.read_bytes() for name, path in seeds.items()}
    files["canon.dng"] = canon_dng.read_bytes()
    return files


def test_seed_files_decode_sanely(seed_files):
    for name, data in seed_files.items():
        assert run_case(name, data)[0] == "decoded", name


def test_mutated_raw_files_fail_cleanly_or_decode_sanely(seed_files, fuzz_report):
    names = sorted(seed_files)
    fixtures = [n for n in names if n != "canon.dng"]
    outcomes: collections.Counter = collections.Counter()
    mutations: collections.Counter = collections.Counter()
    start = time.perf_counter()
    for case in range(CASES):
        name = "canon.dng" if case % CANON_EVERY == 0 else fixtures[case % len(fixtures)]
        label, data = mutate(seed_files[name], seed=case)
        try:
            outcome, detail = run_case(f"case{case:05d}_{name}", data)
        except AssertionError as e:
            raise AssertionError(f"case {case} ({name}, {label}): {e}") from None
        outcomes[f"{outcome}: {detail}"] += 1
        mutations[label.split("@")[0].split("=")[0].split(".")[0].split(" ")[0]] += 1
    seconds = time.perf_counter() - start
    refused = sum(n for k, n in outcomes.items() if k.startswith("refused"))
    fuzz_report["raw fuzz"] = [
        f"{CASES} cases in {seconds:.1f} s (seed files: {', '.join(names)}); "
        f"{refused} refused with one clean line, {CASES - refused} decoded sanely; 0 failures",
        "mutations: " + ", ".join(f"{k} {n}" for k, n in sorted(mutations.items())),
        *[f"  {n:5d}  {k}" for k, n in outcomes.most_common()],
    ]
    assert refused > CASES // 4  # the mutations do hit: most cuts and extreme tags are refused


def test_mutated_files_through_the_cli_are_one_line(seed_files, tmp_path):
    """A handful through the real process: exit 0 or 2, no traceback, at most one error line."""
    paths = []
    for case in range(8):
        name = sorted(seed_files)[case % len(seed_files)]
        _, data = mutate(seed_files[name], seed=10_000 + case)
        path = tmp_path / f"case{case}_{name}"
        path.write_bytes(data)
        paths.append(str(path))
    out = subprocess.run([sys.executable, "-m", "keras_lowlight.cli", "info", *paths], capture_output=True, text=True)
    assert "Traceback" not in out.stderr
    errors = out.stderr.splitlines()
    assert all(line.startswith("lowlight: error: ") for line in errors), out.stderr
    assert len(errors) == sum(1 for p in paths if p in out.stderr)  # each bad file named once
    assert out.returncode == (2 if errors else 0)
