"""The ingest speed benchmark runs end to end at a tiny size and records what it measured."""

import json
from pathlib import Path

from keylike.benchmarks.ingest_speed import main, write_photos
from keylike.config import load_params
from keylike.data.ingest import IngestConfig

REPO = Path(__file__).resolve().parents[2]


def test_photos_are_distinct_files(tmp_path: Path) -> None:
    config = IngestConfig.from_params(load_params(REPO / "params.yaml"))
    write_photos(tmp_path / "bench", 6, 48, config)
    files = sorted((tmp_path / "bench" / "images").iterdir())
    assert len(files) == 6 and len({f.read_bytes() for f in files}) == 6
    assert len((tmp_path / "bench" / "labels.jsonl").read_text().splitlines()) == 6


def test_benchmark_records_the_result(tmp_path: Path) -> None:
    out = tmp_path / "ingest_speed.json"
    main(["--n", "8", "--size", "48", "--workers", "1", "2", "--repeats", "1", "--params", str(REPO / "params.yaml"),
          "--out", str(out)])
    result = json.loads(out.read_text())
    assert [r["workers"] for r in result["runs"]] == [1, 2]
    assert result["images_per_s"] == result["median_images_per_s_by_workers"]["2"] > 0
    assert result["passed"] == (result["images_per_s"] >= 150)
    assert {"cpu_count", "versions", "python"} <= set(result["machine"])
    assert result["command"].startswith("python -m keylike.benchmarks.ingest_speed --n 8 --size 48")
