"""Every number the README states about performance or quality is in a result file.

    python benchmarks/check_claims.py        # or: make check-claims (tests/test_claims.py runs it too)

The rule, so that anyone adding a number can comply:

* Checked: each README section (any heading level) whose heading contains one of
  `CHECKED_HEADING_WORDS` (measured, benchmark, performance, quality, speed, shipped, results),
  down to the next heading of the same or a higher level. A section of new numbers needs such a
  heading (e.g. "### RAW head: measured").
* Not checked inside those sections: inline `code spans`, link targets `](…)`, and lines of a
  fenced block that are commands (starting with `python`, `PYTHONPATH=`, `lowlight`, `make`, `$`).
  Numbers glued to letters (`int16x8`, `tile256`, `x100`) are names, not numbers. Plain one-digit
  integers (0–9: counts such as "2 of 3 runs", goals such as "≥ 3×") are not checked either — so
  write measured values with their decimals ("7.0 MB", not "7 MB").
* Sources: every `.md`, `.csv`, `.json`, `.txt` under `benchmarks/results/`, and
  `saved_models/*/metrics.json`, `saved_models/*/MODEL_CARD.md`, `saved_models/*/evaluation/*`.
* A README number N is found when a source holds the same token, or a number X with
  round(X, decimals of N) == N and N has at least 2 significant digits (so 23.85 may quote
  23.8509, but "0.1 dB" cannot quote 0.0789). Signs count; `−` equals `-`; `7,760,748` is one number.

A number that fails: write it into a result file with a benchmarks/ script
(`benchmarks/_results.py`), or correct the sentence to what the files hold.
"""

from __future__ import annotations

import bisect
import re
import sys
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHECKED_HEADING_WORDS = ("measured", "benchmark", "performance", "quality", "speed", "shipped", "results")
COMMAND_PREFIXES = ("python", "pythonpath=", "lowlight", "make", "$")
# A number not glued to a letter or underscore on either side: 1,379,715 / -0.165 / 1e-4 / 23.85.
NUMBER = re.compile(r"(?<![\w.])[-−+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])[-−+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w])",
                    re.IGNORECASE)
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


@dataclass(frozen=True)
class Claim:
    line: int
    section: str
    text: str  # the number as written


def _normalise(token: str) -> str:
    return token.replace("−", "-").replace(",", "").lstrip("+")


def _decimal(token: str) -> Decimal | None:
    try:
        return Decimal(_normalise(token))
    except InvalidOperation:
        return None


def source_files(repo: Path = REPO) -> list[Path]:
    files = [p for p in (repo / "benchmarks" / "results").rglob("*")
             if p.is_file() and p.suffix in (".md", ".csv", ".json", ".txt")]
    for folder in sorted((repo / "saved_models").glob("*/")):
        files += [folder / n for n in ("metrics.json", "MODEL_CARD.md") if (folder / n).exists()]
        files += [p for p in (folder / "evaluation").glob("*") if p.suffix in (".md", ".csv", ".json")]
    return sorted(files)


def source_numbers(files: list[Path]) -> tuple[set[str], list[Decimal]]:
    tokens: set[str] = set()
    values: set[Decimal] = set()
    for path in files:
        for match in NUMBER.finditer(path.read_text(errors="replace")):
            tokens.add(_normalise(match.group()))
            value = _decimal(match.group())
            if value is not None:
                values.add(value)
    return tokens, sorted(values)


def readme_claims(readme: Path) -> list[Claim]:
    claims: list[Claim] = []
    checked_level = 0  # > 0 while inside a checked section of that heading level
    section = ""
    fenced = False
    for number, line in enumerate(readme.read_text().splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        heading = HEADING.match(line) if not fenced else None
        if heading:
            level, title = len(heading.group(1)), heading.group(2)
            if checked_level and level <= checked_level:
                checked_level = 0
            if not checked_level and any(w in title.lower() for w in CHECKED_HEADING_WORDS):
                checked_level, section = level, title
            continue
        if not checked_level:
            continue
        if fenced and line.strip().lower().startswith(COMMAND_PREFIXES):
            continue
        body = re.sub(r"`[^`]*`", " ", line) if not fenced else line
        body = re.sub(r"\]\([^)]*\)", "]", body)
        body = re.sub(r"<[^>]+>", " ", body)  # HTML tags / comments
        claims += [Claim(number, section, m.group()) for m in NUMBER.finditer(body)
                   if not re.fullmatch(r"\d", m.group())]
    return claims


def _significant_digits(value: Decimal) -> int:
    digits = value.as_tuple().digits
    return len(str(int("".join(map(str, digits))))) if any(digits) else 1


def is_found(text: str, tokens: set[str], values: list[Decimal]) -> bool:
    token = _normalise(text)
    if token in tokens:
        return True
    target = _decimal(text)
    if target is None or _significant_digits(target) < 2:
        return False
    exponent = target.as_tuple().exponent
    quantum = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
    half = quantum / 2
    lo, hi = target - half, target + half
    for value in values[bisect.bisect_left(values, lo): bisect.bisect_right(values, hi)]:
        for rounding in (ROUND_HALF_UP, ROUND_HALF_EVEN):
            try:
                if value.quantize(quantum, rounding=rounding) == target:
                    return True
            except InvalidOperation:
                continue
    return False


def unbacked_claims(readme: Path = REPO / "README.md", repo: Path = REPO) -> list[str]:
    """One message per README number that no result file holds (empty: every claim is backed)."""
    tokens, values = source_numbers(source_files(repo))
    return [f"README.md:{c.line} (section '{c.section}'): {c.text} is in no result file"
            for c in readme_claims(readme) if not is_found(c.text, tokens, values)]


def main() -> int:
    problems = unbacked_claims()
    for problem in problems:
        print(problem)
    if problems:
        print(f"\n{len(problems)} README number(s) without a source. Sources: benchmarks/results/**"
              "/*.{md,csv,json,txt}, saved_models/*/{metrics.json,MODEL_CARD.md,evaluation/*}. Write the number "
              "with a benchmarks/ script (benchmarks/_results.py) or correct the sentence; rule: "
              "benchmarks/check_claims.py's docstring.", file=sys.stderr)
        return 1
    print(f"every number in the README's checked sections is in a result file ({len(readme_claims(REPO / 'README.md'))} checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
