"""Prepared TFDS size vs source size for `sid`, measured side by side in one run.

    PYTHONPATH=. python benchmarks/sid_size_ratio.py

* sony / fuji on the dummy archives: tfrecord bytes / (zip + list files) bytes.
* synthetic: tfrecord bytes / the same scenes' DNGs zipped (DEFLATE) as SID distributes them,
  and what storing the long exposure once per PAIR instead of once per scene would cost.

Writes `benchmarks/results/sid_size_ratio.{md,csv}` (benchmarks/_results.py).
"""

from __future__ import annotations

import io
import tempfile
import time
import zipfile
from pathlib import Path

import tensorflow_datasets as tfds
from _results import write_results

import tfds_sid  # noqa: F401
from keras_lowlight.data import synthetic
from tfds_sid.sid import sid_dataset_builder as sid

DUMMY = Path(sid.__file__).parent / "dummy_data"


def prepared_bytes(builder) -> int:
    return sum(p.stat().st_size for p in Path(builder.data_dir).glob("*.tfrecord*"))


def build(config: str, data_dir: Path):
    builder = tfds.builder(f"sid/{config}", data_dir=data_dir)
    start, cpu = time.perf_counter(), time.process_time()
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(DUMMY)))
    # CPU seconds of this process too: on a shared, loaded machine the wall time says little.
    return builder, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    rows: list[dict] = []
    lines: list[str] = []

    def report(line: str, **row) -> None:
        print(line)
        lines.append(line)
        rows.append(row)

    with tempfile.TemporaryDirectory() as tmp:
        for config, camera in (("sony", "Sony"), ("fuji", "Fuji")):
            builder, _, _ = build(config, Path(tmp))
            source = sum(p.stat().st_size for p in DUMMY.glob(f"{camera}*"))
            prepared = prepared_bytes(builder)
            report(f"{config:9s} dummy: source {source / 1e3:8.1f} kB  prepared {prepared / 1e3:8.1f} kB  "
                   f"ratio {prepared / source:.2f}", what=f"{config} dummy archives", source_bytes=source,
                   prepared_bytes=prepared, ratio=prepared / source)

        builder, seconds, cpu_seconds = build("synthetic", Path(tmp))
        prepared = prepared_bytes(builder)
        buffer = io.BytesIO()
        long_png = 0
        shorts = 0
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for split in ("train", "validation", "test"):
                for plan in synthetic.scene_plans(split):
                    scene = synthetic.make_scene(plan, seed=builder.builder_config.seed)
                    archive.writestr(f"Sony/long/{scene.long_name}", scene.long_bytes)
                    for name, data in scene.shorts:
                        archive.writestr(f"Sony/short/{name}", data)
                    shorts += len(scene.shorts)
        source = buffer.tell()
        # The ground truth's share of the prepared size (PNG render + the clean long RAW, zlib),
        # from the records themselves.
        long_raw = 0
        skip = {"long_srgb": tfds.decode.SkipDecoding(), "long_raw": tfds.decode.SkipDecoding()}
        for split in ("train", "validation", "test"):
            for example in tfds.as_numpy(builder.as_dataset(split=split, decoders=skip)):
                long_png += len(example["long_srgb"])
                long_raw += len(example["long_raw"]["value"])  # zlib Tensor: {shape, value}
        scenes = sum(builder.info.splits[s].num_examples for s in ("train", "validation", "test"))
        per_pair = prepared + (long_png + long_raw) * (shorts / scenes - 1)
        report(f"synthetic: source {source / 1e6:8.2f} MB  prepared {prepared / 1e6:8.2f} MB  "
               f"ratio {prepared / source:.2f}  (build {seconds:.1f} s wall, {cpu_seconds:.1f} s CPU, {scenes} scenes, "
               f"{shorts} short frames)",
               what="synthetic (DNGs zipped as SID ships them)", source_bytes=source, prepared_bytes=prepared,
               ratio=prepared / source, build_s=seconds, build_cpu_s=cpu_seconds, scenes=scenes, short_frames=shorts)
        report(f"synthetic: long PNGs {long_png / 1e6:.2f} MB + long RAWs {long_raw / 1e6:.2f} MB of it; storing "
               f"the long once per pair instead would give {per_pair / 1e6:.2f} MB, ratio {per_pair / source:.2f}",
               what="synthetic, long exposure stored once per pair instead", source_bytes=source,
               prepared_bytes=per_pair, ratio=per_pair / source, long_png_bytes=long_png, long_raw_bytes=long_raw)
        # Per-scene components, to project to SID's frames per scene (Sony: 2697 short / 231 long).
        with zipfile.ZipFile(buffer) as archive:
            zipped_long = sum(i.compress_size for i in archive.infolist() if "/long/" in i.filename) / scenes
            zipped_short = sum(i.compress_size for i in archive.infolist() if "/short/" in i.filename) / shorts
        stored_long = (long_png + long_raw) / scenes
        stored_short = (prepared - long_png - long_raw) / shorts
        report(f"per scene: long PNG {long_png / scenes / 1e3:.0f} kB + long RAW zlib {long_raw / scenes / 1e3:.0f} kB "
               f"vs long DNG zipped {zipped_long / 1e3:.0f} kB; "
               f"short zlib {stored_short / 1e3:.0f} kB vs short DNG zipped {zipped_short / 1e3:.0f} kB",
               what="per frame (synthetic)", stored_long_bytes=stored_long, zipped_long_bytes=zipped_long,
               stored_short_bytes=stored_short, zipped_short_bytes=zipped_short)
        for label, n in (("synthetic", shorts / scenes), ("SID Sony", 2697 / 231)):
            ratio = (stored_long + n * stored_short) / (zipped_long + n * zipped_short)
            report(f"projected ratio at {n:5.2f} short frames per scene ({label}): {ratio:.2f}",
                   what=f"projected at {n:.2f} short frames per scene ({label})", ratio=ratio)
    write_results("sid_size_ratio", rows, title="sid: prepared TFDS size vs source archive size",
                  notes="Each line as the script printed it:\n\n```\n" + "\n".join(lines) + "\n```",
                  markdown=None)


if __name__ == "__main__":
    main()
