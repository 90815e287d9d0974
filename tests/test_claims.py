"""README numbers are traceable: each one in a performance / quality section is in a result file.

The rule (which sections, which sources, how rounding counts) is benchmarks/check_claims.py's
docstring; `make check-claims` runs the same check and prints every offending number.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_claims", REPO / "benchmarks" / "check_claims.py")
check_claims = importlib.util.module_from_spec(_spec)
sys.modules["check_claims"] = check_claims  # dataclasses look their module up
_spec.loader.exec_module(check_claims)


def test_every_readme_claim_is_in_a_result_file():
    claims = check_claims.readme_claims(REPO / "README.md")
    assert len(claims) > 50, "the checked README sections vanished (headings renamed?)"
    problems = check_claims.unbacked_claims()
    assert not problems, "\n" + "\n".join(problems) + "\n(rule: benchmarks/check_claims.py docstring)"


def test_checker_catches_a_number_no_file_holds(tmp_path):
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "r.md").write_text("| psnr | 23.8509 |\n| drop | 0.0789 |\n| n | 1,379,715 |")
    readme = tmp_path / "README.md"
    readme.write_text(
        "## Models\n\nNot checked: 99.99 dB.\n\n## Speed, measured\n\n"
        "PSNR 23.85 dB, 1,379,715 params, `--steps 300`, costs 0.1 dB, drop −0.079 dB, 2 of 3 runs, 41.2 dB.\n"
        "```\npython benchmarks/x.py --size 512\n| mobile | 77.7 |\n```\n## Other\n\n12.34\n"
    )
    problems = check_claims.unbacked_claims(readme, tmp_path)
    found = sorted(p.split(": ")[1].split(" is in")[0] for p in problems)
    # 0.1 (one significant digit, only 0.0789 exists), −0.079 (wrong sign), 41.2 and 77.7 (nowhere).
    assert found == ["0.1", "41.2", "77.7", "−0.079"], problems
    assert all("README.md:" in p and "section 'Speed, measured'" in p for p in problems)
