"""One table of good and bad DNG files for all three readers: Python (LibRaw), web (dng.js), Kotlin.

`write_fixtures(folder)` writes every file and returns the table; each row says what every reader
should conclude — "ok", or the kind of one-line error — and, where one reader differs for a stated
reason, which reader and why. `verdict_kind(message)` maps any reader's message to that kind, so
three differently worded messages can be compared by what they mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_lowlight.runtime.dng import write_dng
from keras_lowlight.runtime.packing import BAYER_PATTERNS, XTRANS_REFERENCE

CLIENTS = ("python", "web", "kotlin")

# Kinds of error, each recognised by what its message says (checked in this order).
ERROR_KINDS = {
    "compressed": ("uncompressed dngs", "compression="),
    "linear": ("linear",),
    "truncated": ("truncated", "past the end"),
    "unsupported_cfa": ("unsupported 6x6 cfa", "unsupported cfa", "unsupported bayer"),
    "not_dng": ("not a raw file", "not a tiff/dng", "not a dng", "empty file"),
}

WEB_BAYER_ONLY = "the web client packs 2x2 Bayer only (its page offers the Bayer models, not mobile_xtrans)"


@dataclass
class Fixture:
    name: str
    path: Path
    expect: str  # "ok" or one of ERROR_KINDS
    differs: dict[str, tuple[str, str]] = field(default_factory=dict)  # client -> (kind, why)

    def expected(self, client: str) -> str:
        return self.differs.get(client, (self.expect, ""))[0]


def verdict_kind(verdict: dict) -> str:
    """"ok" for an accepted file, else the kind of error its message names ("unknown" if none)."""
    if verdict["ok"]:
        return "ok"
    message = verdict["error"].lower()
    for kind, words in ERROR_KINDS.items():
        if any(w in message for w in words):
            return kind
    return "unknown"


def _mosaic(rng, shape, low=600, high=15000) -> np.ndarray:
    return rng.integers(low, high, shape).astype(np.uint16)


def _rolled(pattern: str, period: int, dy: int, dx: int) -> str:
    """The pattern whose phase (dy, dx) is `pattern`: packing.py's X-Trans search finds (dy, dx)."""
    return "".join(pattern[((y - dy) % period) * period + (x - dx) % period] for y in range(period) for x in range(period))


def _active_area_dng(path: Path, mosaic: np.ndarray, pattern: str, area: tuple[int, int, int, int]) -> Path:
    """A CFA DNG with an ActiveArea (top, left, bottom, right): margins LibRaw crops away."""
    import tifffile

    period = 2 if len(pattern) == 4 else 6
    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),
        (33421, "H", 2, (period, period), True),
        (33422, "B", period * period, tuple("RGB".index(c) for c in pattern), True),
        (50714, "I", 1, 500, True),
        (50717, "I", 1, 16383, True),
        (50829, "I", 4, area, True),
        (50728, "2I", 3, (4444, 10000, 1, 1, 6452, 10000), True),  # AsShotNeutral: a real white balance
        (50721, "2i", 9, (5838, 10000, -1430, 10000, -246, 10000, -3497, 10000, 11477, 10000, 2297, 10000,
                          -748, 10000, 1885, 10000, 5778, 10000), True),  # ColorMatrix1 (Sony a7S II)
    ]
    tifffile.imwrite(path, mosaic, photometric=32803, extratags=tags, metadata=None)
    return path


def write_fixtures(folder: Path, canon_dng: Path | None = None) -> list[Fixture]:
    """Writes the shared fixtures into `folder`; `canon_dng` (a real camera file) joins when given."""
    import tifffile
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(17)
    table: list[Fixture] = []
    for i, cfa in enumerate(BAYER_PATTERNS):
        path = write_dng(folder / f"bayer_{cfa}.dng", _mosaic(rng, (46, 62)), cfa, black_level=(500, 510, 520, 530),
                         white_level=15000, exposure_time=[0.1, 0.04, None, 0.02][i])
        table.append(Fixture(path.stem, path, "ok"))
    # A SID file name carries the exposure (0.04 s → ×250) that the file's tags do not.
    path = write_dng(folder / "00001_00_0.04s.ARW", _mosaic(rng, (48, 64)), "RGGB")
    table.append(Fixture("sid_name", path, "ok"))
    path = write_dng(folder / "xtrans.dng", _mosaic(rng, (48, 60)), XTRANS_REFERENCE, black_level=1024,
                     exposure_time=0.1)
    table.append(Fixture("xtrans", path, "ok", {"web": ("unsupported_cfa", WEB_BAYER_ONLY)}))
    path = write_dng(folder / "xtrans_phase.dng", _mosaic(rng, (50, 62)), _rolled(XTRANS_REFERENCE, 6, 1, 2),
                     black_level=1024)
    table.append(Fixture("xtrans_phase", path, "ok", {"web": ("unsupported_cfa", WEB_BAYER_ONLY)}))
    path = _active_area_dng(folder / "activearea_bayer.dng", _mosaic(rng, (50, 70)), "GRBG", (3, 5, 48, 66))
    table.append(Fixture("activearea_bayer", path, "ok"))
    # (No X-Trans file with ActiveArea margins: rawpy 0.28 reports its pattern with the rows reversed.)
    if canon_dng is not None:
        table.append(Fixture("canon_eos_550d", Path(canon_dng), "ok"))

    # --- bad input ---
    good = (folder / "bayer_RGGB.dng").read_bytes()
    bad = {
        "empty": (b"", "not_dng"),
        "text": (b"this is not a raw file\n" * 100, "not_dng"),
        "truncated_third": (good[: len(good) // 3], "truncated"),
        "truncated_tail": (good[:-100], "truncated"),
    }
    for name, (content, kind) in bad.items():
        path = folder / f"{name}.dng"
        path.write_bytes(content)
        table.append(Fixture(name, path, kind))
    path = folder / "photo.dng"
    Image.new("RGB", (64, 64), (200, 10, 10)).save(path, format="JPEG")
    table.append(Fixture("jpeg", path, "not_dng"))
    path = folder / "linear.dng"
    tifffile.imwrite(path, np.full((32, 32, 3), 1000, np.uint16), photometric=34892,
                     extratags=[(50706, "B", 4, (1, 4, 0, 0), True), (50717, "I", 1, 16383, True)])
    table.append(Fixture("linear", path, "linear"))
    path = folder / "deflate.dng"
    tifffile.imwrite(path, _mosaic(rng, (46, 62)), photometric=32803, compression="zlib",
                     extratags=[(50706, "B", 4, (1, 4, 0, 0), True), (33421, "H", 2, (2, 2), True),
                                (33422, "B", 4, (0, 1, 1, 2), True), (50717, "I", 1, 16383, True)])
    table.append(Fixture("deflate", path, "compressed", {
        "python": ("truncated", "rawpy's LibRaw cannot inflate Deflate DNGs and reports the data as corrupt")}))
    path = write_dng(folder / "not_xtrans.dng", np.full((36, 36), 600, np.uint16), "RGGBRG" * 6)
    table.append(Fixture("not_xtrans", path, "unsupported_cfa"))
    return table
