"""Reading camera RAW frames (anything LibRaw decodes: ARW, RAF, DNG, NEF, CR2, …).

Every level comes from the file: black per CFA site, white level, CFA layout. SID's scripts
hard-code the a7S II's 512/16383 (and 1024/16383 for the X-T2), the most frequent complaint of
its users; here nothing assumes a camera.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_lowlight.runtime import packing
from keras_lowlight.runtime.errors import RawReadError
from keras_lowlight.runtime.rawcheck import container_problem, mosaic_problem
from keras_lowlight.runtime.unprocess import RGB_TO_XYZ

# SID names: SSSSS_FF_Es.ARW — scene id, burst index, exposure in seconds.
SID_NAME = re.compile(r"^(?P<scene>\d{5})_(?P<burst>\d{2})_(?P<exposure>\d+(?:\.\d+)?)s\.[A-Za-z0-9]+$")

# LibRaw refuses anything smaller than this on a side.
MIN_SIDE = 22

# XYZ → camera for a file without a colour matrix: treat the camera as linear sRGB (D65).
_SRGB_XYZ_TO_CAM = np.linalg.inv(RGB_TO_XYZ).astype(np.float32)


@dataclass
class RawImage:
    """One RAW frame, as read from its file.

    Attributes:
        mosaic: uint16 H×W visible sensor area.
        cfa_pattern: row-major colour letters of one CFA period ("RGGB", 36 letters X-Trans).
        black_levels: black level of each CFA site of one period, row-major (len 4 or 36).
        white_level: saturation level.
        make, model: camera.
        exposure_time: seconds, from EXIF or the SID file name; None when unknown.
        iso: ISO speed when the file says it.
        white_balance: camera white-balance multipliers (R, G, B), normalised to G = 1.
        xyz_to_cam: 3×3 XYZ → camera matrix from the file (DNG ColorMatrix / LibRaw's table),
            the identity-like sRGB fallback when the file has none; rendering uses it so colour
            comes from the file, never from a network's guess.
    """

    mosaic: np.ndarray
    cfa_pattern: str
    black_levels: np.ndarray
    white_level: int
    make: str = ""
    model: str = ""
    exposure_time: float | None = None
    iso: int | None = None
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    xyz_to_cam: np.ndarray | None = None
    path: str = ""
    extras: dict = field(default_factory=dict)

    @property
    def cfa_kind(self) -> str:
        return "bayer" if len(self.cfa_pattern) == 4 else "xtrans"

    @property
    def camera(self) -> str:
        if self.model.lower().startswith(self.make.lower()):
            return self.model.strip()  # many makers repeat the make in the model tag
        return f"{self.make} {self.model}".strip()

    @property
    def period(self) -> int:
        return 2 if self.cfa_kind == "bayer" else 6

    @property
    def height(self) -> int:
        return int(self.mosaic.shape[0])

    @property
    def width(self) -> int:
        return int(self.mosaic.shape[1])

    def black_map(self) -> np.ndarray:
        """Black level per pixel of the mosaic (the per-site levels tiled over the frame)."""
        p = self.period
        tile = np.asarray(self.black_levels, np.float32).reshape(p, p)
        reps = (-(-self.height // p), -(-self.width // p))
        return np.tile(tile, reps)[: self.height, : self.width]

    def normalized(self) -> np.ndarray:
        """(x - black) / (white - black), clipped to [0, 1], float32."""
        return normalize(self.mosaic, self.black_levels, self.white_level, self.period)

    def packed(self) -> np.ndarray:
        """Normalised and packed: (H/2)×(W/2)×4 Bayer or (H/3)×(W/3)×9 X-Trans, float32."""
        return packing.pack(self.normalized(), self.cfa_pattern)


def normalize(mosaic: np.ndarray, black_levels, white_level: float, period: int) -> np.ndarray:
    """(x - black) / (white - black) per CFA site, clipped to [0, 1]."""
    mosaic = np.asarray(mosaic, np.float32)
    tile = np.asarray(black_levels, np.float32).reshape(period, period)
    h, w = mosaic.shape
    black = np.tile(tile, (-(-h // period), -(-w // period)))[:h, :w]
    return np.clip((mosaic - black) / (float(white_level) - black), 0.0, 1.0)


def normalize_tf(mosaic, black_levels, white_level, period: int):
    """TensorFlow twin of `normalize` (dynamic shapes; black_levels has period² values)."""
    import tensorflow as tf

    mosaic = tf.cast(mosaic, tf.float32)
    tile = tf.reshape(tf.cast(black_levels, tf.float32), [period, period])
    shape = tf.shape(mosaic)
    reps = [-(-shape[0] // period), -(-shape[1] // period)]
    black = tf.tile(tile, reps)[: shape[0], : shape[1]]
    white = tf.cast(white_level, tf.float32)
    return tf.clip_by_value((mosaic - black) / (white - black), 0.0, 1.0)


def exposure_from_name(path: str | os.PathLike) -> float | None:
    """Exposure in seconds from a SID file name (`00001_00_0.04s.ARW` → 0.04), else None."""
    match = SID_NAME.match(Path(path).name)
    return float(match["exposure"]) if match else None


@contextlib.contextmanager
def _quiet_tifffile():
    """tifffile logs every malformed tag at ERROR level, which Python's last-resort handler prints
    to stderr; metadata here is best effort, and a bad file gets one line from us, not twenty."""
    logger = logging.getLogger("tifffile")
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled


def _tiff_exif(data: bytes) -> dict:
    """ExposureTime / ISO from a TIFF-based container (DNG, ARW, NEF, CR2), best effort."""
    try:
        import tifffile

        with _quiet_tifffile(), tifffile.TiffFile(io.BytesIO(data)) as tif:
            tags = {}
            for page in tif.pages[:1]:
                for tag in page.tags.values():
                    tags[tag.name] = tag.value
            exif = tags.get("ExifTag") or {}
            if isinstance(exif, dict):
                tags.update(exif)
    except Exception:  # not TIFF-based (RAF, CR3) or unusual layout: exposure falls back
        return {}
    out = {}
    iso = tags.get("ISOSpeedRatings") or tags.get("PhotographicSensitivity")
    if isinstance(iso, (tuple, list)):
        iso = iso[0] if iso else None
    if isinstance(iso, (int, np.integer)) and 0 < iso < 10**7:  # a corrupt tag may hold any type
        out["iso"] = int(iso)
    return out


def _xyz_to_cam(raw, dng: bool = False) -> np.ndarray:
    """XYZ → camera, 3×3: the matrix LibRaw renders with. LibRaw fills `rgb_xyz_matrix` from its
    camera table and turns a DNG's own ColorMatrix into `color_matrix` (camera → sRGB, rows
    summing to 1). A DNG renders with its ColorMatrix even when its make/model is in the table
    (then `rgb_xyz_matrix` holds the table's, a different camera's colour): for DNGs invert
    `color_matrix` first. Other files: the table; the sRGB fallback when there is no colour at all."""
    table = np.asarray(raw.rgb_xyz_matrix[:3, :3], np.float64)
    cam_to_srgb = np.asarray(raw.color_matrix[:3, :3], np.float64)
    from_file = np.any(cam_to_srgb) and abs(np.linalg.det(cam_to_srgb)) > 1e-6
    if from_file and (dng or not np.any(table)):
        return (np.linalg.inv(cam_to_srgb) @ np.linalg.inv(RGB_TO_XYZ)).astype(np.float32)
    if np.any(table):
        return table.astype(np.float32)
    return _SRGB_XYZ_TO_CAM


# LibRaw's `sizes.flip` → TIFF/EXIF Orientation (1 as stored, 3 rotated 180°, 6 / 8 rotated 90° CW / CCW),
# kept in `RawImage.extras["orientation"]` so a written DNG shows the way the camera held it.
_LIBRAW_FLIP_TO_TIFF = {0: 1, 3: 3, 5: 8, 6: 6}


def _is_dng(data: bytes) -> bool:
    """A TIFF whose first IFD carries DNGVersion (tag 50706)."""
    try:
        import tifffile

        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            return 50706 in tif.pages[0].tags
    except Exception:  # not TIFF-based (RAF, CR3): not a DNG
        return False


def _white_balance(multipliers) -> tuple[float, float, float]:
    """Camera multipliers normalised to G = 1; all zero (none recorded) means neutral. Values that
    no camera writes (zero, negative, non-finite, or beyond 32× between channels) mean a corrupt
    tag, which would silently tint the picture: refused."""
    wb = np.asarray(multipliers, np.float64)
    if not np.any(wb):
        return (1.0, 1.0, 1.0)
    if not (np.all(np.isfinite(wb)) and np.all(wb > 0)):
        raise ValueError(f"corrupt white balance {tuple(round(float(v), 4) for v in wb)}")
    wb = wb / wb[1]
    if wb.max() > 32 or wb.min() < 1 / 32:
        raise ValueError(f"implausible white balance R:G:B = {wb[0]:.4g}:1:{wb[2]:.4g} (corrupt file)")
    return (float(wb[0]), 1.0, float(wb[2]))


def _pattern_string(raw) -> str:
    desc = raw.color_desc.decode("ascii", "replace")
    pattern = raw.raw_pattern
    if pattern is None:
        raise ValueError("no colour filter array (linear or Foveon data)")
    letters = "".join(desc[int(i)] for i in np.asarray(pattern).ravel())
    if set(letters) - set("RGB") or len(set(letters)) != 3:
        raise ValueError(f"unsupported colour filter array {letters!r} (colours {desc!r})")
    return letters


def read_raw(path: str | os.PathLike, data: bytes | None = None) -> RawImage:
    """Reads a RAW file into a `RawImage`; raises `RawReadError` naming the file and the reason.

    `data` may carry the file's bytes (e.g. read through `etils.epath` or from an archive); the
    path then only names the file and feeds the SID exposure parser.
    """
    import rawpy

    name = str(path)
    if data is None:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise RawReadError(name, "no such file") from None
        except IsADirectoryError:
            raise RawReadError(name, "is a directory, not a RAW file") from None
        except OSError as e:
            raise RawReadError(name, f"cannot read: {e.strerror or e}") from None
    if len(data) == 0:
        raise RawReadError(name, "empty file (0 bytes)")
    problem = container_problem(data)  # LibRaw zero-fills what a cut file lacks; refuse it first
    if problem:
        raise RawReadError(name, problem)
    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            if raw.raw_type != rawpy.RawType.Flat or raw.num_colors != 3:
                raise ValueError("unsupported sensor: not a single-plane CFA mosaic (linear DNG or Foveon)")
            cfa = _pattern_string(raw)
            packing.layout_for(cfa)  # rejects layouts we cannot pack
            mosaic = np.array(raw.raw_image_visible, dtype=np.uint16, copy=True)
            site_colors = np.asarray(raw.raw_pattern).ravel()
            per_color = np.asarray(raw.black_level_per_channel, np.float32)
            blacks = per_color[site_colors]
            white = int(raw.white_level)
            wb = _white_balance(raw.camera_whitebalance[:3])
            xyz_to_cam = _xyz_to_cam(raw, dng=_is_dng(data))
            shutter = float(raw.other.shutter_speed) if hasattr(raw, "other") else 0.0
            iso_speed = float(raw.other.iso_speed) if hasattr(raw, "other") else 0.0
            orientation = _LIBRAW_FLIP_TO_TIFF.get(int(getattr(raw.sizes, "flip", 0)), 1)
    except RawReadError:
        raise
    except ValueError as e:
        raise RawReadError(name, str(e)) from None
    except NotImplementedError as e:  # rawpy: a CFA descriptor it cannot expand (corrupt or exotic)
        raise RawReadError(name, f"unsupported colour filter array ({e})") from None
    except rawpy.LibRawFileUnsupportedError:
        raise RawReadError(name, "not a RAW file LibRaw can decode") from None
    except (rawpy.LibRawIOError, rawpy.LibRawDataError, rawpy.LibRawTooBigError) as e:
        raise RawReadError(name, f"truncated or corrupt RAW data ({type(e).__name__})") from None
    except rawpy.LibRawError as e:
        raise RawReadError(name, f"LibRaw failed: {type(e).__name__}") from None
    if min(mosaic.shape) < MIN_SIDE:
        raise RawReadError(name, f"image {mosaic.shape} too small")
    if white <= float(blacks.max()):
        raise RawReadError(name, f"white level {white} not above black level {blacks.max():g}")
    problem = mosaic_problem(mosaic, float(blacks.max()), white)
    if problem:
        raise RawReadError(name, problem)

    exposure = exposure_from_name(name)
    if exposure is None and shutter > 0:
        exposure = shutter
    iso = int(iso_speed) if iso_speed > 0 else _tiff_exif(data).get("iso")
    make, model = _make_model(data)
    return RawImage(
        mosaic=mosaic,
        cfa_pattern=cfa,
        black_levels=blacks,
        white_level=white,
        make=make,
        model=model,
        exposure_time=exposure,
        iso=iso,
        white_balance=wb,
        xyz_to_cam=xyz_to_cam,
        path=name,
        extras={"orientation": orientation},
    )


def _printable(value: object, limit: int = 64) -> str:
    """A tag as text fit for one line of `lowlight info` (a corrupt tag may hold anything)."""
    return "".join(ch for ch in str(value) if ch.isprintable()).strip()[:limit]


def _make_model(data: bytes) -> tuple[str, str]:
    """Camera make/model as LibRaw identifies them (via its `imgdata.idata`), best effort."""
    try:
        import tifffile

        with _quiet_tifffile(), tifffile.TiffFile(io.BytesIO(data)) as tif:
            tags = tif.pages[0].tags
            make = tags.get("Make")
            model = tags.get("Model")
            return (_printable(make.value) if make else "", _printable(model.value) if model else "")
    except Exception:
        pass
    # RAF: "FUJIFILMCCD-RAW " header followed by the model name at byte 28.
    if data[:16] == b"FUJIFILMCCD-RAW ":
        return "Fujifilm", data[28:60].split(b"\0")[0].decode("ascii", "replace").strip()
    return "", ""


def describe(image: RawImage) -> str:
    """Human-readable summary (what `lowlight info` prints)."""
    blacks = np.asarray(image.black_levels)
    black_text = f"{blacks[0]:g}" if np.all(blacks == blacks[0]) else " ".join(f"{b:g}" for b in blacks[:4])
    layout = packing.layout_for(image.cfa_pattern)
    ph, pw, pc = layout.packed_shape(image.height, image.width)
    exposure = f"{image.exposure_time:g} s" if image.exposure_time else "unknown"
    cfa = image.cfa_pattern if image.cfa_kind == "bayer" else "X-Trans 6x6"
    lines = [
        f"file:      {image.path}",
        f"camera:    {image.camera or 'unknown'}",
        f"cfa:       {cfa} ({image.cfa_kind})",
        f"size:      {image.width} x {image.height}",
        f"black:     {black_text}",
        f"white:     {image.white_level}",
        f"exposure:  {exposure}",
        f"iso:       {image.iso if image.iso else 'unknown'}",
        f"packed:    {pw} x {ph} x {pc}",
    ]
    return "\n".join(lines)


def render_srgb(path: str | os.PathLike, data: bytes | None = None) -> np.ndarray:
    """16-bit sRGB H×W×3 rendered exactly as SID renders its ground truth.

    `rawpy.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True,
    output_bps=16)`: LibRaw's AHD demosaic, camera white balance, camera→sRGB matrix and the
    BT.709 gamma curve, without auto-brightening.
    """
    import rawpy

    name = str(path)
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise RawReadError(name, f"cannot read: {e.strerror or e}") from None
    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            return raw.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True, output_bps=16)
    except rawpy.LibRawError as e:
        raise RawReadError(name, f"LibRaw could not render it ({type(e).__name__})") from None
