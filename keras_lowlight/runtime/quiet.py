"""Keeps TensorFlow's, LiteRT's and CUDA's native log lines out of a `lowlight` run.

Most of them cannot be switched off: TensorFlow logs through absl before absl is initialised
("WARNING: All log messages before absl::InitializeLog() …", oneDNN, "Could not find cuda
drivers", "failed call to cuInit"), which ignores TF_CPP_MIN_LOG_LEVEL, and LiteRT prints "INFO:
Created TensorFlow Lite XNNPACK delegate" on every interpreter. So the CLI routes file
descriptor 2 through a pipe for the whole command; a thread forwards everything at once except
lines that start like those (native info/warning lines, and the cuInit error a CPU-only machine
always gets). Errors of our own and any other native error pass through unchanged; the progress
bar's carriage-return updates are forwarded as they come.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

# absl/glog line header: severity letter, MMDD, time, thread id, file:line].
_ABSL_LINE = re.compile(rb"^[IW]\d{4} [\d:.]+\s+\d+ \S+:\d+\] ")
_NOISE = (
    re.compile(rb"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"),
    re.compile(rb"^INFO: Created TensorFlow Lite XNNPACK delegate for CPU"),
    re.compile(rb"^E\d{4} [^\]]*\] failed call to cuInit"),
    re.compile(rb"^E\d{4} [^\]]*\] Unable to register cu(DNN|FFT|BLAS) factory"),
    # The TFLite converter's MLIR quantizer prints its settings on every full-integer conversion.
    re.compile(rb"^fully_quantize: \d+, inference_type: \d+, input_inference_type: "),
    _ABSL_LINE,
)
# Any output starting with one of these may become a noise line: held until its newline.
_MAYBE = (b"W", b"I", b"E", b"f")


def is_noise(line: bytes) -> bool:
    return any(pattern.match(line) for pattern in _NOISE)


def _forward(read_fd: int, write_fd: int) -> None:
    pending = b""
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        pending += chunk
        while pending:
            newline = pending.find(b"\n")
            if newline < 0:
                if pending.startswith(_MAYBE) and len(pending) < 4096:
                    break  # could be the start of a native log line: wait for the rest
                os.write(write_fd, pending)  # a progress bar's "\r…" update, or plain text
                pending = b""
                break
            line, pending = pending[: newline + 1], pending[newline + 1 :]
            if not is_noise(line):
                os.write(write_fd, line)
    if pending and not is_noise(pending):
        os.write(write_fd, pending)


@contextlib.contextmanager
def native_logs_filtered() -> Iterator[None]:
    """File descriptor 2 goes through the noise filter while the block runs."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # what TensorFlow does let us switch off
    try:
        sys.stderr.flush()
        original = os.dup(2)
        read_fd, write_fd = os.pipe()
    except (OSError, ValueError, AttributeError):  # no real stderr: nothing to filter
        yield
        return
    thread = threading.Thread(target=_forward, args=(read_fd, original), name="lowlight-stderr", daemon=True)
    thread.start()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end: the thread drains and stops
        thread.join(timeout=5)
        os.close(read_fd)
        os.close(original)
