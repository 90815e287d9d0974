"""Writing a benchmark's result files: the one way numbers get into `benchmarks/results/`.

Every script in `benchmarks/` ends with ONE call:

    from _results import write_results          # benchmarks/ is the script's own folder
    write_results("models_speed_bayer", rows, title="…", notes="what was measured, how")

which writes, side by side,

* `benchmarks/results/<name>.csv` — `rows` (a list of dicts; keys = columns, full precision);
* `benchmarks/results/<name>.md`  — a title, the exact command (`sys.argv`, repository-relative),
  when it ran, the versions (Python, TensorFlow, Keras, LiteRT, numpy, …) and the machine
  (CPU model, cores, load average, GPU if TensorFlow sees one), the notes, and the table
  (`markdown=` if given, else `markdown_table(rows)`).

The README quotes numbers from these files only: `make check-claims` (tests/test_claims.py)
fails on a number in a performance / quality section of the README that no result file (or a
shipped model's metrics.json / MODEL_CARD.md / evaluation/) holds. So: run the script, then
copy the numbers from the `.md` it wrote (rounding is fine if ≥ 2 significant digits remain).

Paths in the command are made repository-relative, and other absolute paths are reduced to
their last component, so no machine path is committed.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import platform
import sys
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
PACKAGES = ("tensorflow", "keras", "ai-edge-litert", "numpy", "tensorflow-datasets", "keras-lowlight")


def command_line(argv: Sequence[str] | None = None) -> str:
    """The exact command, as someone at the repository root would type it (no machine paths)."""
    argv = list(sys.argv if argv is None else argv)
    parts = ["python"]
    for arg in argv:
        parts.append(_portable(arg))
    return " ".join(parts)


def _portable(arg: str) -> str:
    prefix, sep, value = arg.partition("=") if arg.startswith("--") and "=" in arg else ("", "", arg)
    path = Path(value)
    if value.startswith("/"):
        try:
            value = path.resolve().relative_to(REPO).as_posix()
        except ValueError:
            value = f"…/{path.name}"  # outside the repository: the name only
    if any(c in value for c in " '\"*?$"):
        value = repr(value)
    return prefix + sep + value


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found


def machine() -> str:
    """CPU model, cores, load average at write time, and the GPU if TensorFlow (already
    imported by the benchmark) sees one."""
    from keras_lowlight.training.hardware import cpu_model

    text = f"{cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
    try:
        load = os.getloadavg()
        text += f", load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min)"
    except OSError:
        pass
    tf = sys.modules.get("tensorflow")
    gpus = tf.config.list_physical_devices("GPU") if tf is not None else []
    return text + (f", GPU: {', '.join(g.name for g in gpus)}" if gpus else ", no GPU used")


def _format(value) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.1f}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10000:
        return f"{value:,}"
    return "" if value is None else str(value)


def markdown_table(rows: Iterable[dict], columns: Sequence[str] | None = None) -> str:
    """A Markdown table of `rows` (floats to 4 significant digits)."""
    rows = list(rows)
    columns = list(columns or _columns(rows))
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_format(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def _columns(rows: list[dict]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    return columns


def write_results(name: str, rows: list[dict], *, title: str = "", notes: str = "", markdown: str | None = None,
                  argv: Sequence[str] | None = None, results_dir: Path | None = None) -> tuple[Path, Path]:
    """Writes `<name>.csv` and `<name>.md` (see the module docstring); returns their paths."""
    out = Path(results_dir or RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_columns(rows), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    csv_path = out / f"{name}.csv"
    csv_path.write_text(buffer.getvalue())
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = [f"# {title or name}", "", "```", command_line(argv), "```", "",
            f"- run: {stamp}",
            f"- versions: {', '.join(f'{k} {v}' for k, v in versions().items())}",
            f"- machine: {machine()}",
            f"- CSV (full precision): `{csv_path.name}`", ""]
    if notes:
        text += [notes.strip(), ""]
    text += [markdown if markdown is not None else markdown_table(rows), ""]
    md_path = out / f"{name}.md"
    md_path.write_text("\n".join(text))
    return md_path, csv_path
