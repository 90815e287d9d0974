"""See-in-the-Dark (SID) RAW low-light dataset, and an embedded synthetic twin of it.

Configs:
  * `sony`: SID's Sony a7S II set (Bayer, 4240×2832), manual download.
  * `fuji`: SID's Fujifilm X-T2 set (X-Trans, 6000×4000), manual download.
  * `synthetic` (default): SID-like scenes made from photographs bundled with scikit-image and
    matplotlib and from procedural dead-leaves scenes, unprocessed to RAW and darkened with a
    calibrated Sony a7S II noise model; needs no download.
  * `synthetic_xtrans`: the same scenes shot with an X-T2-like X-Trans camera.

All configs share one schema: one example per scene (the long exposure stored once, as SID's
ground-truth render), with every short exposure of the scene in a `short` sequence.
"""

from __future__ import annotations

import bisect
import dataclasses
import io
import logging
import re
import zipfile
import zlib
from typing import Iterator

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from keras_lowlight.runtime.errors import LowlightError, RawReadError

logger = logging.getLogger(__name__)

_HOMEPAGE = "https://cchen156.github.io/SID.html"

# SID file names: SSSSS_BB_Es.EXT — scene id (first digit = split), burst index, exposure.
_SID_NAME = re.compile(r"^(?P<scene>\d{5})_(?P<burst>\d{2})_(?P<exposure>\d+(?:\.\d+)?)s\.(?P<ext>[A-Za-z0-9]+)$")
# SID's split convention: 0xxxx train, 1xxxx test, 2xxxx validation.
_SPLIT_OF_DIGIT = {"0": "train", "1": "test", "2": "validation"}
_LIST_SPLITS = {"train": "train", "val": "validation", "test": "test"}

MANUAL_DOWNLOAD_INSTRUCTIONS = """\
Download SID from https://github.com/cchen156/Learning-to-See-in-the-Dark (Google Drive links
in its README: Sony 25 GB, Fuji 52 GB) and place in `manual_dir` ONE of, per camera:

  <manual_dir>/Sony.zip                       (or Fuji.zip), as downloaded, or
  <manual_dir>/SonyPart1, SonyPart2, ...      the Baidu parts (any names starting with
                                              SonyPart / FujiPart, concatenated in natural
                                              order; no need to `cat` them), or
  <manual_dir>/Sony/short/*.ARW and <manual_dir>/Sony/long/*.ARW   (Fuji/…/*.RAF) extracted.

Optionally add SID's list files (dataset/Sony_train_list.txt, Sony_val_list.txt,
Sony_test_list.txt; Fuji_… likewise) to `manual_dir`; they define the splits. Without them the
splits follow SID's file names (scene ids 0xxxx train, 1xxxx test, 2xxxx validation).
"""


class MissingSidFilesError(LowlightError, AssertionError):
    """The manual directory lacks the SID archive of the requested camera."""


class TooManyCorruptFilesError(LowlightError):
    """More RAW files failed to decode than a damaged download would explain."""


class SidArchiveError(LowlightError):
    """An archive member the split lists is missing or cannot be extracted (damaged zip)."""


@dataclasses.dataclass
class SidConfig(tfds.core.BuilderConfig):
    """One variant of SID: a camera's real archive, or the embedded synthetic set.

    Attributes:
        camera_dir: folder name inside the archive ("Sony" / "Fuji"); None for synthetic.
        extension: RAW file extension of the camera.
        seed: seed of the synthetic scenes (fixed: builds are reproducible).
        synthetic_camera: which camera the synthetic scenes are shot with ("sony" / "fuji").
    """

    camera_dir: str | None = None
    extension: str = ""
    seed: int = 0
    synthetic_camera: str = "sony"


# ----------------------------------------------------------------------------- archive access


class _ConcatenatedFile(io.RawIOBase):
    """Read-only, seekable view of several files back to back (SID's `SonyPart*` pieces of one
    zip), so the archive is read in place instead of being `cat`-ed into a 25 GB copy."""

    def __init__(self, paths: list[epath.Path]):
        super().__init__()
        self._paths = paths
        self._sizes = [p.stat().length for p in paths]
        self._starts = list(np.cumsum([0] + self._sizes[:-1]).tolist())
        self._total = sum(self._sizes)
        self._pos = 0
        self._handles: dict[int, object] = {}

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._total}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._total:
            index = bisect.bisect_right(self._starts, self._pos) - 1
            handle = self._handles.get(index)
            if handle is None:
                handle = self._handles[index] = self._paths[index].open("rb")
            inner = self._pos - self._starts[index]
            handle.seek(inner)
            want = min(len(view) - done, self._sizes[index] - inner)
            chunk = handle.read(want)
            if not chunk:
                break
            view[done : done + len(chunk)] = chunk
            done += len(chunk)
            self._pos += len(chunk)
        return done

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()
        super().close()


def _natural_key(path: epath.Path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


@dataclasses.dataclass(frozen=True)
class SourceSpec:
    """Where a camera's files are: picklable, so Beam workers can reopen it themselves."""

    kind: str  # "dir" | "zip" | "parts"
    paths: tuple[str, ...]
    camera_dir: str

    def describe(self) -> str:
        return ", ".join(self.paths)


class SourceReader:
    """Lists and reads `<camera>/short|long/*` members of an extracted tree or a zip."""

    def __init__(self, spec: SourceSpec):
        self.spec = spec
        self._zip: zipfile.ZipFile | None = None
        if spec.kind == "dir":
            self._root = epath.Path(spec.paths[0])
        else:
            if spec.kind == "zip":
                fileobj = epath.Path(spec.paths[0]).open("rb")
            else:
                fileobj = io.BufferedReader(_ConcatenatedFile([epath.Path(p) for p in spec.paths]), 1 << 20)
            self._zip = zipfile.ZipFile(fileobj)
            self._members = {}
            for info in self._zip.infolist():
                if info.is_dir():
                    continue
                self._members[_relative_member(info.filename, spec.camera_dir)] = info.filename

    def names(self) -> list[str]:
        """Relative names such as `short/00001_00_0.04s.ARW` (and any list files)."""
        if self._zip is not None:
            return sorted(self._members)
        out = []
        for sub in ("short", "long"):
            folder = self._root / sub
            if folder.exists():
                out += [f"{sub}/{p.name}" for p in folder.iterdir()]
        return sorted(out)

    def read(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self._members[name])
        return (self._root / name).read_bytes()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _relative_member(member: str, camera_dir: str) -> str:
    """`Sony/short/x.ARW` or `./Sony/short/x.ARW` → `short/x.ARW`; other paths unchanged."""
    parts = [p for p in member.split("/") if p not in ("", ".")]
    if camera_dir in parts:
        parts = parts[parts.index(camera_dir) + 1 :]
    return "/".join(parts)


_READERS: dict[SourceSpec, SourceReader] = {}


def _reader(spec: SourceSpec) -> SourceReader:
    """One open reader per process and source (Beam workers call this too)."""
    if spec not in _READERS:
        _READERS[spec] = SourceReader(spec)
    return _READERS[spec]


def _close_readers() -> None:
    while _READERS:
        _READERS.popitem()[1].close()


def locate_source(manual_dir: epath.Path, camera_dir: str) -> SourceSpec:
    """Finds the camera's archive, its parts or its extracted tree; else a clear error."""
    extracted = manual_dir / camera_dir
    if (extracted / "short").exists() and (extracted / "long").exists():
        return SourceSpec("dir", (str(extracted),), camera_dir)
    archive = manual_dir / f"{camera_dir}.zip"
    if archive.exists():
        return SourceSpec("zip", (str(archive),), camera_dir)
    parts = sorted((p for p in manual_dir.glob(f"{camera_dir}Part*") if p.is_file()), key=_natural_key)
    if parts:
        return SourceSpec("parts", tuple(str(p) for p in parts), camera_dir)
    expected = [
        str(archive),
        str(manual_dir / f"{camera_dir}Part1") + ", …Part2, … (split archive)",
        str(extracted / "short") + " and " + str(extracted / "long") + " (extracted)",
    ]
    raise MissingSidFilesError(
        f"SID {camera_dir} files not found in {manual_dir}. Expected one of:\n  "
        + "\n  ".join(expected)
        + "\n\n"
        + MANUAL_DOWNLOAD_INSTRUCTIONS
    )


# ----------------------------------------------------------------------------- scene listing


@dataclasses.dataclass(frozen=True)
class ShortEntry:
    name: str  # relative: short/00001_00_0.04s.ARW
    iso: int | None = None


@dataclasses.dataclass(frozen=True)
class SceneEntry:
    scene_id: int
    long_name: str  # relative: long/00001_00_10s.ARW
    shorts: tuple[ShortEntry, ...]


def _parse_list(text: str, camera_dir: str) -> dict[str, list[ShortEntry]]:
    """SID list lines `./Sony/short/X.ARW ./Sony/long/Y.ARW ISO200 F8` → long → shorts."""
    scenes: dict[str, list[ShortEntry]] = {}
    for line_no, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2:
            raise LowlightError(f"SID list file line {line_no}: expected 'short long [ISO F]', got {line!r}")
        short, long = (_relative_member(f, camera_dir) for f in fields[:2])
        iso = None
        if len(fields) > 2 and fields[2].upper().startswith("ISO"):
            iso = int(float(fields[2][3:]))
        scenes.setdefault(long, []).append(ShortEntry(short, iso))
    return scenes


def _scenes_from_names(names: list[str], extension: str) -> dict[str, dict[str, list[ShortEntry]]]:
    """Without list files: SID's naming convention decides split and pairing."""
    longs: dict[int, str] = {}
    shorts: dict[int, list[ShortEntry]] = {}
    for name in names:
        folder, _, base = name.partition("/")
        match = _SID_NAME.match(base)
        if not match or match["ext"].lower() != extension.lower():
            continue
        scene = int(match["scene"])
        if folder == "long":
            longs.setdefault(scene, name)  # SID has one long frame per scene (burst 00)
        elif folder == "short":
            shorts.setdefault(scene, []).append(ShortEntry(name))
    out: dict[str, dict[str, list[ShortEntry]]] = {"train": {}, "validation": {}, "test": {}}
    for scene, long_name in sorted(longs.items()):
        if scene in shorts:
            out[_SPLIT_OF_DIGIT.get(f"{scene:05d}"[0], "train")][long_name] = sorted(shorts[scene], key=lambda s: s.name)
    return out


def _to_entries(by_long: dict[str, list[ShortEntry]]) -> list[SceneEntry]:
    entries = []
    for long_name, shorts in sorted(by_long.items()):
        match = _SID_NAME.match(long_name.rpartition("/")[2])
        scene_id = int(match["scene"]) if match else len(entries)
        entries.append(SceneEntry(scene_id, long_name, tuple(shorts)))
    return entries


# ----------------------------------------------------------------------------- example building


@dataclasses.dataclass
class SceneResult:
    key: str | None
    example: dict | None
    files: int
    failed: list[str]
    dropped: str | None = None  # why the whole scene was left out, for the build's summary


def _render_long(name: str, data: bytes, image) -> np.ndarray:
    """SID's ground truth: LibRaw's render; in-house pipeline only where LibRaw refuses X-Trans."""
    from keras_lowlight.runtime import isp, raw

    try:
        return raw.render_srgb(name, data=data)
    except RawReadError:
        if image.cfa_kind != "xtrans":
            raise
        logger.info("%s: LibRaw cannot render this X-Trans file; using the in-house pipeline", name)
        return isp.render_srgb_fallback(name, data=data)


def build_scene_example(
    scene_id: int,
    long_name: str,
    long_bytes: bytes,
    shorts: list[tuple[str, bytes | None, int | None]],
) -> SceneResult:
    """One scene's example from RAW bytes; corrupt frames are skipped and reported."""
    from keras_lowlight.runtime import raw

    failed: list[str] = []
    files = 1 + len(shorts)
    try:
        long_image = raw.read_raw(long_name, data=long_bytes)
        long_srgb = _render_long(long_name, long_bytes, long_image)
    except RawReadError as e:
        logger.warning("SID: skipping scene %05d: long exposure unreadable: %s", scene_id, e)
        return SceneResult(None, None, files, [long_name] + [s[0] for s in shorts],
                           dropped=f"{scene_id:05d} (long exposure {long_name.rpartition('/')[2]} unreadable)")
    long_exposure = long_image.exposure_time or raw.exposure_from_name(long_name) or 0.0
    frames = []
    for name, data, list_iso in shorts:
        try:
            if data is None:
                raise RawReadError(name, "missing from the archive")
            image = raw.read_raw(name, data=data)
            if image.mosaic.shape != long_image.mosaic.shape:
                raise RawReadError(name, f"size {image.mosaic.shape} differs from the long exposure's")
        except RawReadError as e:
            logger.warning("SID: skipping short frame: %s", e)
            failed.append(name)
            continue
        match = _SID_NAME.match(name.rpartition("/")[2])
        exposure = float(image.exposure_time or 0.0)
        frames.append(
            {
                "raw": image.mosaic,
                "exposure": exposure,
                "ratio": float(long_exposure / exposure) if exposure > 0 else 0.0,
                "iso": int(list_iso or image.iso or 0),
                "file": name.rpartition("/")[2],
                "burst": int(match["burst"]) if match else 0,
            }
        )
    if not frames:
        logger.warning("SID: skipping scene %05d: no readable short exposure", scene_id)
        return SceneResult(None, None, files, failed, dropped=f"{scene_id:05d} (no readable short exposure)")
    example = {
        "scene_id": scene_id,
        "camera": long_image.camera,
        "cfa_pattern": long_image.cfa_pattern,
        "black_levels": np.asarray(long_image.black_levels, np.float32),
        "white_level": float(long_image.white_level),
        "long_exposure": float(long_exposure),
        "long_file": long_name.rpartition("/")[2],
        "long_srgb": long_srgb,
        "long_raw": long_image.mosaic,
        "white_balance": np.asarray(long_image.white_balance, np.float32),
        "xyz_to_cam": np.asarray(
            long_image.xyz_to_cam if long_image.xyz_to_cam is not None else np.eye(3), np.float32
        ),
        "short": frames,
    }
    return SceneResult(f"{scene_id:05d}", example, files, failed)


def _read_member(spec: SourceSpec, name: str) -> bytes:
    """One archive member's bytes; a missing or damaged member stops the build, named in one line.

    A member that extracts but does not decode as RAW is a different matter (a damaged frame
    inside a sound archive): `build_scene_example` skips and reports it.
    """
    try:
        return _reader(spec).read(name)
    except KeyError:
        reason = "listed but missing from the archive"
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as e:
        reason = f"cannot be extracted ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'damaged'})"
    raise SidArchiveError(f"SID: {name} in {spec.describe()}: {reason}")


def _real_scene(spec: SourceSpec, entry: SceneEntry) -> SceneResult:
    long_bytes = _read_member(spec, entry.long_name)
    shorts = [(short.name, _read_member(spec, short.name), short.iso) for short in entry.shorts]
    return build_scene_example(entry.scene_id, entry.long_name, long_bytes, shorts)


def _synthetic_example(scene) -> SceneResult:
    shorts = [(f"short/{name}", data, scene.iso) for name, data in scene.shorts]
    return build_scene_example(scene.scene_id, f"long/{scene.long_name}", scene.long_bytes, shorts)


def _synthetic_scene(plan, seed: int, camera: str = "sony") -> SceneResult:
    from keras_lowlight.data import synthetic

    return _synthetic_example(synthetic.make_scene(plan, seed=seed, camera=camera))


# ----------------------------------------------------------------------------- the builder


class Builder(tfds.core.GeneratorBasedBuilder):
    """DatasetBuilder for SID (Sony, Fuji) and its embedded synthetic twin."""

    VERSION = tfds.core.Version("2.0.0")
    RELEASE_NOTES = {
        "1.0.0": "Initial release: one example per scene; sony, fuji (manual) and synthetic configs.",
        "1.1.0": (
            "Per scene: the clean long-exposure mosaic `long_raw` (uint16, zlib), the camera "
            "`white_balance` (R, G, B; G = 1) and `xyz_to_cam` (3x3) from the file. A missing or "
            "damaged archive member stops the build naming it. Same scenes and frames as 1.0.0."
        ),
        "2.0.0": (
            "synthetic: new splits, fixed from now on. Test: 20 scenes (60 pairs) of 512x512 from "
            "photographs no other split uses; validation: 2 whole photographs; train: 6 whole "
            "photographs + 32 procedural dead-leaves scenes. New config synthetic_xtrans (X-T2-like). "
            "sony / fuji: unchanged from 1.1.0."
        ),
    }
    MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
    BUILDER_CONFIGS = [
        SidConfig(
            name="synthetic",
            description=(
                "SID-like Sony a7S II scenes made from photographs bundled with scikit-image and "
                "matplotlib and procedural dead-leaves scenes: unprocessed to RAW (Brooks et al. "
                "2019), short exposures at ratios 100/250/303 with the ELD noise model (Wei et al. "
                "2020). No download."
            ),
            seed=2018,
        ),
        SidConfig(
            name="synthetic_xtrans",
            description=(
                "The synthetic scenes shot with a Fujifilm X-T2-like camera: the X-T2's 6x6 X-Trans "
                "layout, black 1024 / white 16383, the approximate X-T2 noise profile. No download."
            ),
            seed=2018,
            synthetic_camera="fuji",
        ),
        SidConfig(
            name="sony",
            description="SID Sony a7S II (Bayer RGGB, 4240x2832); manual download.",
            camera_dir="Sony",
            extension="ARW",
        ),
        SidConfig(
            name="fuji",
            description="SID Fujifilm X-T2 (X-Trans 6x6, 6000x4000); manual download.",
            camera_dir="Fuji",
            extension="RAF",
        ),
    ]
    DEFAULT_CONFIG_NAME = "synthetic"
    # A few unreadable files are skipped; more than this fraction means a broken download.
    MAX_FAILED_FRACTION = 0.01

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "scene_id": np.int32,
                    "camera": tfds.features.Text(),
                    "cfa_pattern": tfds.features.Text(),
                    "black_levels": tfds.features.Tensor(shape=(None,), dtype=np.float32),
                    "white_level": np.float32,
                    "long_exposure": np.float32,
                    "long_file": tfds.features.Text(),
                    "long_srgb": tfds.features.Image(shape=(None, None, 3), dtype=np.uint16, encoding_format="png"),
                    # The clean long exposure itself: noise is synthesised on it during training
                    # (`make_dataset(noise="synthetic")`) and a RAW-domain head learns it.
                    "long_raw": tfds.features.Tensor(shape=(None, None), dtype=np.uint16, encoding="zlib"),
                    "white_balance": tfds.features.Tensor(shape=(3,), dtype=np.float32),
                    "xyz_to_cam": tfds.features.Tensor(shape=(3, 3), dtype=np.float32),
                    "short": tfds.features.Sequence(
                        {
                            "raw": tfds.features.Tensor(shape=(None, None), dtype=np.uint16, encoding="zlib"),
                            "exposure": np.float32,
                            "ratio": np.float32,
                            "iso": np.int32,
                            "file": tfds.features.Text(),
                            "burst": np.int32,
                        }
                    ),
                }
            ),
            supervised_keys=None,
            homepage=_HOMEPAGE,
        )

    def _generate_splits(self, dl_manager, download_config):
        # Beam is used only when a pipeline was asked for (`tfds build --beam_pipeline_options`
        # or DownloadConfig(beam_runner/beam_options)); plain builds never import it.
        self._use_beam = bool(download_config.beam_runner or download_config.beam_options)
        return super()._generate_splits(dl_manager, download_config)

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        config: SidConfig = self.builder_config
        if config.camera_dir is None:
            from keras_lowlight.data import synthetic

            return {
                split: self._generate_examples(
                    plans=synthetic.scene_plans(split), seed=config.seed, camera=config.synthetic_camera
                )
                for split in ("train", "validation", "test")
            }
        spec = locate_source(dl_manager.manual_dir, config.camera_dir)
        by_split = self._list_scenes(dl_manager.manual_dir, spec)
        return {split: self._generate_examples(spec=spec, entries=_to_entries(by_split[split])) for split in by_split}

    def _list_scenes(self, manual_dir: epath.Path, spec: SourceSpec) -> dict[str, dict[str, list[ShortEntry]]]:
        config: SidConfig = self.builder_config
        reader = _reader(spec)
        names = reader.names()
        lists = {}
        for tag, split in _LIST_SPLITS.items():
            file_name = f"{config.camera_dir}_{tag}_list.txt"
            candidates = [manual_dir / file_name] + [n for n in names if n.rpartition("/")[2] == file_name]
            for candidate in candidates:
                if isinstance(candidate, epath.Path):
                    if candidate.exists():
                        lists[split] = candidate.read_text()
                        break
                else:
                    lists[split] = reader.read(candidate).decode()
                    break
        if len(lists) == len(_LIST_SPLITS):
            return {split: _parse_list(text, config.camera_dir) for split, text in lists.items()}
        if lists:
            logger.warning("SID: only some list files found (%s); using file names for all splits", sorted(lists))
        return _scenes_from_names(names, config.extension)

    def _generate_examples(
        self, spec: SourceSpec | None = None, entries=None, plans=None, seed: int = 0, camera: str = "sony"
    ):
        """Yields (scene key, example); a Beam PTransform when a Beam pipeline was requested."""
        if plans is not None:
            work = [("synthetic", plan) for plan in plans]
        else:
            work = [("real", entry) for entry in entries]

        def process(item):
            kind, payload = item
            if kind == "synthetic":
                return _synthetic_scene(payload, seed, camera)
            return _real_scene(spec, payload)

        if getattr(self, "_use_beam", False):
            beam = tfds.core.lazy_imports.apache_beam
            counters = {
                "files": beam.metrics.Metrics.counter("sid", "raw_files"),
                "failed": beam.metrics.Metrics.counter("sid", "raw_files_failed"),
                "dropped": beam.metrics.Metrics.counter("sid", "scenes_dropped"),
            }

            def beam_process(item):
                result = process(item)
                counters["files"].inc(result.files)
                counters["failed"].inc(len(result.failed))
                counters["dropped"].inc(int(result.dropped is not None))
                if result.example is not None:
                    yield result.key, result.example

            return beam.Create(work) | beam.FlatMap(beam_process)
        return self._generate_locally(process(item) for item in work)

    def _generate_locally(self, results: Iterator[SceneResult]) -> Iterator[tuple[str, dict]]:
        files = 0
        failed: list[str] = []
        dropped: list[str] = []
        for result in results:
            files += result.files
            failed += result.failed
            if result.dropped:
                dropped.append(result.dropped)
            if result.example is not None:
                yield result.key, result.example
        if files and len(failed) > self.MAX_FAILED_FRACTION * files:
            shown = ", ".join(failed[:10]) + (" …" if len(failed) > 10 else "")
            raise TooManyCorruptFilesError(
                f"SID: {len(failed)} of {files} RAW files could not be read "
                f"(more than {self.MAX_FAILED_FRACTION:.0%}; damaged download?): {shown}"
            )
        if failed:
            scenes = f"; scenes left out: {', '.join(dropped)}" if dropped else ""
            logger.warning("SID: skipped %d of %d RAW files that could not be read%s", len(failed), files, scenes)
        _close_readers()
