"""The hostile corpus (benchmarks/hostile_corpus.py) through the real `lowlight` entry point:
every case clean. In-process here (seconds); the script runs each case in its own process and
writes the table to benchmarks/results/hostile_corpus.md. The Keras backend runs where it
differs from LiteRT (model files, the batch); the RAW cases are backend-independent up to the
model call and go through LiteRT."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import hostile_corpus  # noqa: E402


def _select(case: hostile_corpus.Case, command: str) -> bool:
    return command != "enhance-keras" or case.model is not None or case.expect == "batch"


def test_every_case_is_clean(tmp_path, fuzz_report):
    results = hostile_corpus.run_corpus(tmp_path, select=_select)
    cases = {r.case for r in results}
    assert len(cases) >= 30
    assert {"sony_cut_at_4MB", "sony_cut_at_90pct", "ratio_nan", "batch_good_and_bad"} <= cases
    unclean = [f"{r.case} / {r.command}: {r.why} ({r.message})" for r in results if not r.clean]
    fuzz_report["hostile corpus"] = [f"{len(cases)} cases, {len(results)} runs, "
                                     f"{len(results) - len(unclean)} clean", *unclean]
    assert not unclean, "\n".join(unclean)


def test_batch_in_a_real_process(tmp_path):
    """Good and bad files in one folder, a real `lowlight enhance` process: every good file written,
    each bad file named once, non-zero exit, no partial file."""
    cases = {c.name: c for c in hostile_corpus.build_corpus(tmp_path / "corpus")}
    case = cases["batch_good_and_bad"]
    out = tmp_path / "out"
    code, stdout, stderr = hostile_corpus.run_subprocess(hostile_corpus.argv_for(case, "enhance-tflite", out))
    result = hostile_corpus.judge(case, "enhance-tflite", code, stdout, stderr, out)
    assert result.clean, (result.why, stderr)
