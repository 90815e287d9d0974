"""Every numeric option of every `lowlight` command refuses NaN, ±inf, out-of-range and non-numbers
at parse time, in one line with exit code 2. The option list comes from the parser itself, so a
new option added with a bare `type=int`/`type=float` (or a numeric default and no type) fails here."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from keras_lowlight.cli import args as cli_args
from keras_lowlight.cli import build_parser


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _minimal_argv(command: str, parser: argparse.ArgumentParser) -> list[str]:
    """The command with dummy values for its positionals and required options."""
    argv = [command]
    for action in parser._actions:
        if not action.option_strings and action.dest != "help":
            argv.append("x.keras" if action.dest == "model" else "x")
        elif action.required:
            argv += [action.option_strings[0], "x"]
    return argv


def _valued_options() -> list[tuple[str, argparse.Action]]:
    """(command, action) for every option that takes a value."""
    out = []
    for command, parser in _subparsers().items():
        for action in parser._actions:
            if action.option_strings and action.nargs != 0 and not isinstance(action, argparse._HelpAction):
                out.append((command, action))
    return out


NUMERIC = [(c, a) for c, a in _valued_options()
           if isinstance(a.type, cli_args.NumberType) or a.type in (int, float)
           or a.type is cli_args.steps_or_epoch
           or isinstance(a.default, (int, float)) and not isinstance(a.default, bool)]


def test_the_table_is_not_empty():
    assert len(NUMERIC) >= 25, [f"{c} {a.option_strings[0]}" for c, a in NUMERIC]


@pytest.mark.parametrize("command,action", NUMERIC, ids=[f"{c} {a.option_strings[-1]}" for c, a in NUMERIC])
def test_numeric_option_has_a_bounded_validator(command, action):
    assert isinstance(action.type, cli_args.NumberType) or action.type is cli_args.steps_or_epoch, (
        f"lowlight {command} {action.option_strings[-1]} has type={action.type!r}: use a validator "
        "from keras_lowlight.cli.args so NaN/inf/zero/negative/absurd values are refused at parse time"
    )


def _bad_values(validator) -> list[str]:
    if validator is cli_args.steps_or_epoch:
        validator = cli_args.BACKUP_STEPS
    bad = ["nan", "inf", "-inf", "NaN", "abc", "", "1e999"]
    low = validator.minimum
    bad.append(f"{low:g}" if validator.exclusive_minimum else f"{low - 1:g}")
    bad.append("-1")
    bad.append(f"{validator.maximum * 10 + 1:g}" if validator.kind is float else str(int(validator.maximum) + 1))
    if validator.kind is int:
        bad.append("2.5")
    return bad


@pytest.mark.parametrize("command,action", NUMERIC, ids=[f"{c} {a.option_strings[-1]}" for c, a in NUMERIC])
def test_numeric_option_refuses_bad_values_in_one_line(command, action, capsys):
    parser = build_parser()
    base = _minimal_argv(command, _subparsers()[command])
    option = action.option_strings[-1]
    for bad in _bad_values(action.type):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([*base, option, bad])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2, (option, bad)
        assert err.count("\n") == 1 and err.startswith(f"lowlight {command}: error: argument {option}"), (bad, err)
        assert "Traceback" not in err
    # A sensible value still parses, as the declared kind.
    validator = cli_args.BACKUP_STEPS if action.type is cli_args.steps_or_epoch else action.type
    good = validator.maximum if validator.kind is int else validator.maximum / 2
    args = parser.parse_args([*base, option, str(good)])
    assert getattr(args, action.dest) == good


def test_validator_limits():
    ratio = cli_args.positive_float(300.0)
    assert ratio("0.5") == 0.5 and ratio("300") == 300.0
    for bad in ("0", "-5", "nan", "inf", "300.01"):
        with pytest.raises(argparse.ArgumentTypeError):
            ratio(bad)
    overlap = cli_args.count(1024)
    assert overlap("0") == 0
    assert cli_args.steps_or_epoch("epoch") == "epoch" and cli_args.steps_or_epoch("50") == 50
    with pytest.raises(argparse.ArgumentTypeError):
        cli_args.steps_or_epoch("0")


def test_package_log_must_exist(tmp_path, capsys):
    parser = build_parser()
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["package", "run", "-o", "out", "--log", str(tmp_path / "missing.csv")])
    assert exit_info.value.code == 2
    assert "missing.csv: no such file" in capsys.readouterr().err
    log = tmp_path / "train.log"
    log.write_text("trained in 3 s\n")
    assert parser.parse_args(["package", "run", "-o", "out", "--log", str(log)]).log == [str(log)]


@pytest.mark.parametrize("argv,needle", [
    (["enhance", "x.dng", "-o", "out", "--ratio", "nan"], "argument --ratio"),
    (["train", "--decay-every", "0"], "argument --decay-every"),
    (["convert", "m.keras", "-o", "m.tflite", "--calibration-count", "-1"], "argument --calibration-count"),
])
def test_cli_process_exits_2_with_one_line(argv, needle):
    out = subprocess.run([sys.executable, "-m", "keras_lowlight.cli", *argv], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and needle in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


def test_python_api_refuses_nan_ratio(write_raw):
    from keras_lowlight.runtime.enhance import amplification_ratio
    from keras_lowlight.runtime.errors import LowlightError
    from keras_lowlight.runtime.raw import read_raw

    image = read_raw(write_raw("00001_00_0.04s.ARW")[0])
    for kwargs in ({"ratio": float("nan")}, {"ratio": float("inf")}, {"ratio": 0.0},
                   {"target_exposure": float("nan")}, {"target_exposure": -1.0}):
        with pytest.raises(LowlightError):
            amplification_ratio(image, **kwargs)
