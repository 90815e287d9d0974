"""Argument types for the `lowlight` command line: every number is checked when it is parsed.

`float("nan")`, `float("inf")`, `0` and `-5` are all valid Python numbers, so a plain `type=float`
lets `--ratio nan` write an all-black image and `--tile 0` silently mean "the default". Each
numeric option takes one of these validators instead; a bad value stops argparse with one line
(`lowlight enhance: error: argument --ratio: ...`) and exit code 2, before any file is read.

Each validator carries its bounds (`minimum`, `maximum`, `kind`) so the table-driven test in
`tests/test_cli_args.py` can derive the bad values to try from the parser itself: an option
added with a bare `type=int` makes that test fail.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Callable, NoReturn


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block) naming the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


class NumberType:
    """A callable argparse `type` for a bounded number; `minimum`/`maximum` are inclusive
    unless `exclusive_minimum` (for floats that must be > 0)."""

    def __init__(self, kind: type, minimum: float, maximum: float, exclusive_minimum: bool = False,
                 what: str = ""):
        self.kind = kind
        self.minimum = minimum
        self.maximum = maximum
        self.exclusive_minimum = exclusive_minimum
        self.what = what
        self.__name__ = kind.__name__  # argparse names the type in its "invalid ... value" message

    def describe(self) -> str:
        low = f"> {self.minimum:g}" if self.exclusive_minimum else f">= {self.minimum:g}"
        noun = "an integer" if self.kind is int else "a finite number"
        return f"{noun} {low} and <= {self.maximum:g}" + (f" ({self.what})" if self.what else "")

    def __call__(self, text: str):
        try:
            value = self.kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, got {text!r}") from None
        if self.kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, got {text!r}")
        too_low = value <= self.minimum if self.exclusive_minimum else value < self.minimum
        if too_low or value > self.maximum:
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, got {text!r}")
        return value

    def __repr__(self) -> str:
        return f"NumberType({self.describe()})"


class NumberOrWord(NumberType):
    """A bounded number, or one of a few words with their own meaning (`--ratio auto`)."""

    def __init__(self, words: tuple[str, ...], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.words = tuple(words)

    def describe(self) -> str:
        return super().describe() + " or " + " / ".join(self.words)

    def __call__(self, text: str):
        return text if text in self.words else super().__call__(text)


def positive_int(maximum: int, minimum: int = 1, what: str = "") -> NumberType:
    return NumberType(int, minimum, maximum, what=what)


def count(maximum: int, what: str = "") -> NumberType:
    """A non-negative integer (0 has a documented meaning, e.g. `--qat-steps 0` skips QAT)."""
    return NumberType(int, 0, maximum, what=what)


def positive_float(maximum: float, what: str = "") -> NumberType:
    return NumberType(float, 0.0, maximum, exclusive_minimum=True, what=what)


def steps_or_epoch(text: str) -> int | str:
    """`--backup-every`: the word 'epoch' or a positive number of steps."""
    if text == "epoch":
        return text
    try:
        return BACKUP_STEPS(text)
    except argparse.ArgumentTypeError:
        message = f"expected 'epoch' or {BACKUP_STEPS.describe()}, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


BACKUP_STEPS = positive_int(10**9)
steps_or_epoch.__name__ = "steps_or_epoch"


def existing_file(text: str) -> str:
    """A path that must name a readable file now (e.g. `package --log`)."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: not a file" if path.exists() else f"{text}: no such file")
    return text


# Every validator the parser may use for a value that is a number; the CLI test checks that each
# option whose default is a number uses one of these (or a NumberType).
VALIDATED: tuple[Callable, ...] = (steps_or_epoch, existing_file)


def formats(text: str) -> tuple[str, ...]:
    """`--format png16,tiff` → checked format names (`keras_lowlight.runtime.writers.FORMATS`)."""
    from keras_lowlight.runtime.writers import FormatError, parse_formats

    try:
        return parse_formats(text)
    except FormatError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
