"""The serve load benchmark runs end to end on a small budget and records a passing result."""

import json
from pathlib import Path

from keylike.benchmarks.serve_load import main


def test_small_load_run_passes_and_records(tmp_path: Path) -> None:
    out = tmp_path / "serve_load.json"
    assert main(["--requests", "10", "--clients", "3", "--bad-every", "3", "--max-new-tokens", "8", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["passed"] is True
    assert record["command"].startswith("python -m keylike.benchmarks.serve_load --requests 10")
    mixed = record["phases"]["mixed"]
    assert mixed["sent"] == 10 and sum(mixed["bad_kinds"].values()) == 3
    assert mixed["status_counts"]["200"] == 7
    assert record["server_batching"]["requests"] >= 17  # warm-up + 10 photos + 7 photos
