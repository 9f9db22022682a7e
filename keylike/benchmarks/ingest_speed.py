"""Ingest speed: 2,000 768 x 768 JPEG key photos in a user data set, through `keylike.data.ingest.ingest`.

The photos are made first (not timed): 100 distinct rendered keys, each written as 20 variants shifted
by a few pixels and re-encoded at q90, so all 2,000 files differ. Then ingest runs with one worker and
with every core:
JSONL parsing, path checks, decoding, EXIF orientation, re-encoding at q95, sha256 and writing.
Target (issue 3): >= 150 images/s on 2 cores.

    python -m keylike.benchmarks.ingest_speed --out metrics/benchmarks/ingest_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from PIL import Image, ImageChops, features

from keylike.benchmarks import command_line
from keylike.benchmarks.machine import machine
from keylike.config import load_params
from keylike.data.ingest import IngestConfig, ingest
from keylike.data.synthesis import write_synthetic_dataset
from keylike.io import read_jsonl, write_json, write_jsonl
from keylike.keys import keyway_codes

TARGET_IMAGES_PER_S = 150.0
DISTINCT_KEYS = 100


def write_photos(folder: Path, n: int, size: int, config: IngestConfig) -> None:
    """A Keylike data set of `n` distinct JPEG files made from DISTINCT_KEYS rendered keys."""
    distinct = min(n, DISTINCT_KEYS)
    base = folder.with_name(folder.name + "-base")
    write_synthetic_dataset(base, distinct, {c: 1.0 for c in keyway_codes()}, 0, config.render, size)
    rows = read_jsonl(base / "labels.jsonl")
    images = [Image.open(base / row["image_path"]).convert("RGB") for row in rows]
    (folder / "images").mkdir(parents=True)
    lines = []
    for i in range(n):
        shift = i // distinct
        path = f"images/photo_{i:05d}.jpg"
        ImageChops.offset(images[i % distinct], shift, shift).save(folder / path, format="JPEG", quality=90)
        lines.append({**rows[i % distinct], "image_path": path})
    write_jsonl(folder / "labels.jsonl", lines)


def _machine() -> dict:
    packages = ("pillow", "numpy", "tqdm")
    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        revision = git.stdout.strip()
    except OSError:
        revision = None
    return machine(packages, libjpeg_turbo=features.check("libjpeg_turbo"), git_revision=revision or None)


def _cpu_seconds() -> float:
    """CPU time of this process and its reaped children (the pool's workers), user + system."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _time_ingest(config: IngestConfig, raw: Path, out: Path, n: int, workers: int) -> dict:
    """One timed ingest of the benchmark data set."""
    load = os.getloadavg()[0]
    cpu_before, start = _cpu_seconds(), time.perf_counter()
    summary = ingest(config, raw, out, workers=workers)
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_before
    if summary.to_json()["records_out"] != n:
        raise RuntimeError(f"ingest took in {summary.to_json()['records_out']} of {n} benchmark photos")
    print(f"workers={workers}: {n} images in {seconds:.2f} s = {n / seconds:.1f} images/s "
          f"({1000 * cpu / n:.2f} CPU ms/image, load average {load:.1f})", file=sys.stderr)
    return {"workers": workers, "seconds": round(seconds, 3), "images_per_s": round(n / seconds, 1),
            "cpu_ms_per_image": round(1000 * cpu / n, 2), "load_average_before": round(load, 2)}


def measure(n: int, size: int, workers: list[int], repeats: int, params: Path, command: str) -> dict:
    """Make `n` photos into a data set, then time ingest of it `repeats` times with each worker count."""
    config = IngestConfig.from_params(load_params(params))
    with tempfile.TemporaryDirectory(prefix="keylike-ingest-speed-") as tmp:
        raw = Path(tmp) / "raw"
        start = time.perf_counter()
        write_photos(raw / "bench", n, size, config)
        prepare_s = time.perf_counter() - start
        config = replace(config, synthetic_count=0, user_datasets=(str(raw / "bench"),), max_image_side=size)
        out = Path(tmp) / "ingested"
        runs = [_time_ingest(config, raw, out, n, count) for _ in range(repeats) for count in workers]
    medians = {count: statistics.median(r["images_per_s"] for r in runs if r["workers"] == count) for count in workers}
    headline = medians[max(workers)]
    cpus, load = os.cpu_count() or 1, max(r["load_average_before"] for r in runs)
    cpu_ms = round(statistics.median(r["cpu_ms_per_image"] for r in runs), 2)
    note = (f"shared machine: load average up to {load} on {cpus} CPUs while timing, so the wall-clock rate is "
            f"what this process got, not what {cpus} free cores give; CPU time is {cpu_ms} ms per image "
            f"({1000 / cpu_ms:.0f} images per CPU second)") if load > cpus else "machine idle while timing"
    return {
        "note": note,
        "command": command,
        "config": {"images": n, "distinct_keys": min(n, DISTINCT_KEYS), "size": size, "max_image_side": size,
                   "jpeg_quality_in": 90, "jpeg_quality_out": 95, "repeats": repeats,
                   "prepare_seconds_untimed": round(prepare_s, 1)},
        "machine": _machine(),
        "runs": runs,
        "median_images_per_s_by_workers": {str(k): v for k, v in medians.items()},
        "images_per_s": headline,
        "images_per_s_is": f"median over {repeats} runs with {max(workers)} workers",
        "target_images_per_s": TARGET_IMAGES_PER_S,
        "passed": headline >= TARGET_IMAGES_PER_S,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write its JSON."""
    parser = argparse.ArgumentParser(prog="python -m keylike.benchmarks.ingest_speed", description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="photos to ingest (default 2000)")
    parser.add_argument("--size", type=int, default=768, help="photo side in pixels (default 768)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, os.cpu_count() or 1],
                        help="worker counts to time (default: 1 and every core)")
    parser.add_argument("--repeats", type=int, default=3, help="timed ingests per worker count (median kept)")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="render settings (ingest.render)")
    parser.add_argument("--out", type=Path, default=Path("metrics/benchmarks/ingest_speed.json"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    command = command_line("keylike.benchmarks.ingest_speed", argv)
    result = measure(args.n, args.size, list(dict.fromkeys(args.workers)), args.repeats, args.params, command)
    write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("images_per_s", "target_images_per_s", "passed")}))


if __name__ == "__main__":
    main()
