"""End to end: the real `dvc repro` of the whole pipeline, at reduced size, in a temporary git repo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STAGES = ["ingest", "validate", "split", "train", "merge", "export", "benchmark"]
REDUCED = {
    "ingest": {"synthetic_count": 150},
    "validate": {"min_records_per_keyway": 5},
    "train": {"epochs": 1},
    "export": {"parity_samples": 4},
}
READS = {"format_compliance": 0.99, "keyway_accuracy": 0.7, "per_cut_accuracy": 0.8, "within_one_step": 0.9}
"""Floors, with a margin, of what the reduced pipeline's model reads on its held-out test photos (the committed
base alone reads pretrained keyways at 0.95 per cut; a model at chance reads about 0.14 of keyways and 0.12 of
cuts): a break in preprocessing, prompt or answer format fails here instead of quietly lowering a number."""
METRIC_KEYS = {
    "metrics/ingest.json": "quarantined",
    "metrics/validation.json": "success",
    "metrics/split.json": "counts",
    "metrics/train.json": "trainable_params",
    "metrics/merge.json": "smoke_parsed",
    "metrics/export.json": "formats",
    "metrics/benchmark.json": "format_compliance",
}


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def _copy_repo(dest: Path) -> None:
    """Copy the tracked files (as a fresh clone would have them) into a new git repo."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()
    for name in files:
        src = REPO / name
        if src.is_file() and not name.startswith(("metrics/", "dvc.lock")):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    _run(["git", "init", "-q"], dest)
    _run(["git", "config", "user.email", "ci@keylike.test"], dest)
    _run(["git", "config", "user.name", "keylike ci"], dest)


def _set_params(repo: Path, overrides: dict) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for block, values in overrides.items():
        params[block].update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _check_predict_reads_new_photos(repo: Path, tmp_path: Path) -> None:
    """`keylike predict` on photos of a seed no stage used, and on a blank image: readings, and no_key."""
    from PIL import Image

    photos = tmp_path / "fresh"
    _run(["keylike", "synth", "--n", "8", "--seed", "424242", "--size", "192", "--keyways", "SC1", "KW1", "Y1", "WR3",
          "--out", str(photos)], repo)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 200), (255, 255, 255)).save(blank)
    labels = [json.loads(line) for line in (photos / "labels.jsonl").read_text().splitlines()]
    images = [str(photos / label["image_path"]) for label in labels]
    lines = _run(["keylike", "predict", "--model", "data/models/merged", *images, str(blank)], repo).stdout.splitlines()
    answers = [json.loads(line) for line in lines]
    assert (answers[-1]["success"], answers[-1]["error"]) == (False, "no_key")
    read = [a.get("bestGuess") or a for a in answers[:-1]]
    assert sum(r["keyway"] == label["keyway"] for r, label in zip(read, labels)) >= 6, answers


@pytest.mark.slow
def test_dvc_repro_end_to_end(tmp_path: Path) -> None:
    repo = tmp_path / "keylike"
    repo.mkdir()
    _copy_repo(repo)
    _set_params(repo, REDUCED)
    _run(["git", "add", "-A"], repo)
    _run(["git", "commit", "-qm", "reduced pipeline"], repo)

    out = _run(["dvc", "repro"], repo).stdout
    for stage in STAGES:
        assert f"Running stage '{stage}'" in out
    for path, key in METRIC_KEYS.items():
        assert key in json.loads((repo / path).read_text()), f"{path} lacks {key}"
    benchmark = json.loads((repo / "metrics/benchmark.json").read_text())
    for name, floor in READS.items():
        assert benchmark[name] >= floor, f"the pipeline's model reads {name} {benchmark[name]} < {floor}"
    _check_predict_reads_new_photos(repo, tmp_path)
    _run(["git", "add", "-A"], repo)
    _run(["git", "commit", "-qm", "run"], repo)

    start = time.perf_counter()
    again = _run(["dvc", "repro"], repo).stdout
    noop_seconds = time.perf_counter() - start
    assert "Running stage" not in again
    status = _run(["dvc", "status", "--json"], repo).stdout
    assert json.loads(status) == {}
    print(f"second dvc repro (no-op) took {noop_seconds:.2f} s")

    old_tokens = yaml.safe_load((repo / "params.yaml").read_text())["benchmark"]["max_new_tokens"]
    _set_params(repo, {"benchmark": {"max_new_tokens": 8}})
    rerun = _run(["dvc", "repro"], repo).stdout
    assert "Running stage 'benchmark'" in rerun
    assert "Running stage 'train'" not in rerun
    diff = json.loads(_run(["dvc", "metrics", "diff", "--json"], repo).stdout)
    assert "metrics/benchmark.json" in diff
    params_diff = json.loads(_run(["dvc", "params", "diff", "--json"], repo).stdout)
    change = params_diff["params.yaml"]["benchmark.max_new_tokens"]
    assert (change["old"], change["new"]) == (old_tokens, 8)
