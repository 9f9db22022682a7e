"""Smoke test of the benchmark stage: main([...]) on the tiny split with the tiny merged (bfloat16) model."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from keylike.evaluation.benchmark import FIGURE_FILE, PLOT_FILES, SplitLeakError
from keylike.io import read_metrics
from keylike.keys import get_spec

torch.set_num_threads(1)
PARAMS = """base:
  seed: 7
benchmark:
  batch_size: 4
  max_new_tokens: 24
  calibration_bins: 5
  device: cpu
"""


def _args(tmp_path: Path, model_dir: Path, split_dir: Path, images_dir: Path) -> list[str]:
    (tmp_path / "params.yaml").write_text(PARAMS)
    return [
        "--params", str(tmp_path / "params.yaml"), "--model", str(model_dir), "--split", str(split_dir),
        "--images", str(images_dir), "--metrics", str(tmp_path / "metrics" / "benchmark.json"),
        "--plots", str(tmp_path / "plots"),
    ]


def test_benchmark_stage_writes_metrics_and_plots(stage, tmp_path, tiny_lora, tiny_split):
    stage.main(_args(tmp_path, tiny_lora.merged_dir, tiny_split.split_dir, tiny_split.images_dir))
    test = tiny_split.records["test"]
    metrics = read_metrics(tmp_path / "metrics" / "benchmark.json")
    assert metrics["test_images"] == len(test)
    assert metrics["cuts"] == sum(get_spec(r.keyway).cuts for r in test)
    for key in ("format_compliance", "keyway_accuracy", "brand_accuracy", "bitting_exact_match", "per_cut_accuracy",
                "within_one_step"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["calibration"]["bins"] == 5 and 0.0 <= metrics["calibration"]["ece"] <= 1.0
    assert metrics["latency"]["batch_size"] == 4 and metrics["latency"]["p95_s"] >= metrics["latency"]["p50_s"] > 0
    assert metrics["latency"]["images_per_s"] > 0 and metrics["memory"]["peak_rss_mb"] > 0
    assert metrics["memory"]["peak_gpu_mb"] is None
    assert sum(m["images"] for m in metrics["per_keyway"].values()) == len(test)
    confusion = json.loads((tmp_path / "plots" / PLOT_FILES["confusion"]).read_text())
    assert [r["id"] for r in confusion] == [r.id for r in test]
    assert [r["actual"] for r in confusion] == [r.keyway for r in test]
    reliability = json.loads((tmp_path / "plots" / PLOT_FILES["reliability"]).read_text())
    assert sum(r["count"] for r in reliability) == len(test)
    assert (tmp_path / "plots" / FIGURE_FILE).read_bytes().startswith(b"\x89PNG")


def test_benchmark_stage_refuses_a_leaky_split(stage, tmp_path, tiny_lora, tiny_split):
    split_dir = tmp_path / "split"
    shutil.copytree(tiny_split.split_dir, split_dir)
    leaked = (split_dir / "train.jsonl").read_text().splitlines()[0]
    with open(split_dir / "test.jsonl", "a") as handle:
        handle.write(leaked + "\n")
    train_id = tiny_split.records["train"][0].id
    with pytest.raises(SplitLeakError, match=f"test record {train_id} id {train_id} is also in train record {train_id}"):
        stage.main(_args(tmp_path, tiny_lora.merged_dir, split_dir, tiny_split.images_dir))
    assert not (tmp_path / "metrics").exists()
