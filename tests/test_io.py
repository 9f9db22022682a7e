"""Atomic writes: the old file or the new one, never half; permissions as for any new file."""

import json
import os
from pathlib import Path

import pytest

from keylike.io import atomic_directory, atomic_write_text, details_path, read_jsonl, read_metrics, write_jsonl, write_metrics


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_written_files_and_directories_follow_the_umask(tmp_path: Path, umask_022: None) -> None:
    atomic_write_text(tmp_path / "a.txt", "x")
    with atomic_directory(tmp_path / "out") as tmp:
        (tmp / "f").write_text("y")
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755


def test_failed_directory_build_leaves_the_old_output(tmp_path: Path) -> None:
    with atomic_directory(tmp_path / "out") as tmp:
        (tmp / "old").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "out") as tmp:
        (tmp / "new").write_text("half")
        raise RuntimeError("killed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["old"]


def test_jsonl_round_trip(tmp_path: Path) -> None:
    rows = [{"b": 1, "a": [1, 2]}, {"c": "é"}]
    write_jsonl(tmp_path / "r.jsonl", rows)
    assert read_jsonl(tmp_path / "r.jsonl") == rows


def test_metrics_keep_headline_numbers_and_details_keep_the_rest(tmp_path) -> None:
    metrics = {"accuracy": 0.9, "calibration": {"ece": 0.05, "bins": 10}, "model": "tiny", "answer": "A\nB"}
    path = tmp_path / "metrics" / "benchmark.json"
    write_metrics(path, metrics, ("accuracy", "calibration.ece", "absent.key"))
    assert json.loads(path.read_text()) == {"accuracy": 0.9, "calibration": {"ece": 0.05}}
    assert details_path(path) == tmp_path / "metrics" / "details" / "benchmark.json"
    assert json.loads(details_path(path).read_text()) == {"calibration": {"bins": 10}, "model": "tiny", "answer": "A\nB"}
    assert read_metrics(path) == metrics


def test_a_headline_metric_must_be_a_number(tmp_path) -> None:
    with pytest.raises(TypeError, match="headline metric model must be a number, got 'tiny'"):
        write_metrics(tmp_path / "m.json", {"model": "tiny"}, ("model",))
