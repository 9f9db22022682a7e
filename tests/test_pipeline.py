"""End to end: the real `dvc repro` of the whole pipeline, at reduced size, in a temporary git repo."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from keylike.io import read_metrics

STAGES = ["ingest", "validate", "split", "train", "merge", "export", "benchmark"]
READS = {"format_compliance": 0.99, "keyway_accuracy": 0.7, "per_cut_accuracy": 0.8, "within_one_step": 0.9}
"""Floors, with a margin, of what the reduced pipeline's model reads on its held-out test photos (the committed
base alone reads pretrained keyways at 0.95 per cut; a model at chance reads about 0.14 of keyways and 0.12 of
cuts): a break in preprocessing, prompt or answer format fails here instead of quietly lowering a number."""
SCREEN_COLUMNS = 240
"""`dvc metrics show` must fit a full-width terminal: the headline numbers only (details in metrics/details/)."""
METRIC_KEYS = {
    "metrics/ingest.json": "quarantined",
    "metrics/validation.json": "success",
    "metrics/split.json": "counts",
    "metrics/train.json": "trainable_params",
    "metrics/merge.json": "smoke_parsed",
    "metrics/export.json": "formats",
    "metrics/benchmark.json": "format_compliance",
}


def _check_predict_reads_new_photos(pipeline, tmp_path: Path) -> None:
    """`keylike predict` on photos of a seed no stage used, and on a blank image: readings, and no_key."""
    from PIL import Image

    photos = tmp_path / "fresh"
    pipeline.run("keylike", "synth", "--n", "8", "--seed", "424242", "--size", "192", "--keyways", "SC1", "KW1", "Y1", "WR3",
                 "--out", str(photos))
    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 200), (255, 255, 255)).save(blank)
    labels = [json.loads(line) for line in (photos / "labels.jsonl").read_text().splitlines()]
    images = [str(photos / label["image_path"]) for label in labels]
    lines = pipeline.run("keylike", "predict", "--model", "data/models/merged", *images, str(blank)).stdout.splitlines()
    answers = [json.loads(line) for line in lines]
    assert (answers[-1]["success"], answers[-1]["error"]) == (False, "no_key")
    read = [a.get("bestGuess") or a for a in answers[:-1]]
    assert sum(r["keyway"] == label["keyway"] for r, label in zip(read, labels)) >= 6, answers


@pytest.mark.slow
def test_dvc_repro_end_to_end(tmp_path: Path, reduced_pipeline) -> None:
    pipeline = reduced_pipeline
    repo = pipeline.path

    out = pipeline.run("dvc", "repro").stdout
    for stage in STAGES:
        assert f"Running stage '{stage}'" in out
    for path, key in METRIC_KEYS.items():
        assert key in read_metrics(repo / path), f"{path} lacks {key}"
    benchmark = read_metrics(repo / "metrics/benchmark.json")
    assert benchmark["per_source"]["synthetic"]["images"] == benchmark["test_images"]
    shown = pipeline.run("dvc", "metrics", "show").stdout.splitlines()
    assert len(shown) <= 12 and max(map(len, shown)) <= SCREEN_COLUMNS, "\n".join(shown)
    for card in ("data/models/merged", "data/models/export/adapter", "data/models/export/merged"):
        text = (repo / card / "README.md").read_text()
        assert "## Limits" in text and "sha256" in text and "| synthetic |" in text, card
    assert (repo / "metrics/train/loss.png").read_bytes().startswith(b"\x89PNG")
    for name, floor in READS.items():
        assert benchmark[name] >= floor, f"the pipeline's model reads {name} {benchmark[name]} < {floor}"
    _check_predict_reads_new_photos(pipeline, tmp_path)
    pipeline.run("git", "add", "-A")
    pipeline.run("git", "commit", "-qm", "run")

    start = time.perf_counter()
    again = pipeline.run("dvc", "repro").stdout
    noop_seconds = time.perf_counter() - start
    assert "Running stage" not in again
    status = pipeline.run("dvc", "status", "--json").stdout
    assert json.loads(status) == {}
    print(f"second dvc repro (no-op) took {noop_seconds:.2f} s")

    old_tokens = yaml.safe_load((repo / "params.yaml").read_text())["benchmark"]["max_new_tokens"]
    pipeline.set_params({"benchmark": {"max_new_tokens": 8}})
    rerun = pipeline.run("dvc", "repro").stdout
    assert "Running stage 'benchmark'" in rerun
    assert "Running stage 'train'" not in rerun
    diff = json.loads(pipeline.run("dvc", "metrics", "diff", "--json").stdout)
    assert "metrics/benchmark.json" in diff
    params_diff = json.loads(pipeline.run("dvc", "params", "diff", "--json").stdout)
    change = params_diff["params.yaml"]["benchmark.max_new_tokens"]
    assert (change["old"], change["new"]) == (old_tokens, 8)
