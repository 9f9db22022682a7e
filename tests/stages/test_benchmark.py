"""Smoke test of the benchmark stage: main([...]) on a tiny split and the tiny model, in tmp_path."""

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from keylike.data.manifest import ManifestRecord, write_manifest
from keylike.evaluation.benchmark import PLOT_FILES, SplitLeakError
from keylike.keys import get_spec, keyway_codes, sample_bitting
from keylike.model.tiny import save_tiny_model

_STAGE = Path(__file__).resolve().parents[2] / "stages" / "benchmark.py"
_spec = importlib.util.spec_from_file_location("stage_benchmark", _STAGE)
stage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stage)
main = stage.main

torch.set_num_threads(1)
PARAMS = """base:
  seed: 7
benchmark:
  batch_size: 4
  max_new_tokens: 24
  calibration_bins: 5
  device: cpu
"""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """The tiny model saved like a merged model."""
    return save_tiny_model(tmp_path_factory.mktemp("merged") / "merged")


def _make_split(root: Path, counts: dict[str, int]) -> tuple[Path, Path]:
    """Ingested images and a split with `counts` records per split, every record a different key."""
    rng = np.random.default_rng(0)
    ingested, split = root / "ingested", root / "split"
    (ingested / "images").mkdir(parents=True)
    codes, n = keyway_codes(), 0
    for name, count in counts.items():
        records = []
        for _ in range(count):
            spec = get_spec(codes[n % len(codes)])
            image = Image.fromarray(rng.integers(0, 256, (32, 64, 3), dtype=np.uint8))
            path = ingested / "images" / f"{n}.png"
            image.save(path)
            records.append(ManifestRecord(
                id=f"synthetic-{n:06d}", image=f"images/{n}.png",
                sha256=hashlib.sha256(path.read_bytes()).hexdigest(), width=64, height=32, source="synthetic",
                keyway=spec.code, bitting=sample_bitting(spec, rng), brand=spec.brand,
            ))
            n += 1
        write_manifest(split / f"{name}.jsonl", records)
    return ingested, split


def _args(tmp_path, model_dir, ingested, split):
    (tmp_path / "params.yaml").write_text(PARAMS)
    return [
        "--params", str(tmp_path / "params.yaml"), "--model", str(model_dir), "--split", str(split),
        "--images", str(ingested), "--metrics", str(tmp_path / "metrics" / "benchmark.json"),
        "--plots", str(tmp_path / "plots"),
    ]


def test_benchmark_stage_writes_metrics_and_plots(tmp_path, model_dir):
    ingested, split = _make_split(tmp_path, {"train": 6, "val": 2, "test": 10})
    main(_args(tmp_path, model_dir, ingested, split))
    metrics = json.loads((tmp_path / "metrics" / "benchmark.json").read_text())
    assert metrics["test_images"] == 10
    assert metrics["cuts"] == sum(
        get_spec(json.loads(line)["keyway"]).cuts for line in (split / "test.jsonl").read_text().splitlines()
    )
    for key in ("format_compliance", "keyway_accuracy", "brand_accuracy", "bitting_exact_match", "per_cut_accuracy",
                "within_one_step"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["calibration"]["bins"] == 5 and 0.0 <= metrics["calibration"]["ece"] <= 1.0
    assert metrics["latency"]["batch_size"] == 4 and metrics["latency"]["p95_s"] >= metrics["latency"]["p50_s"] > 0
    assert metrics["latency"]["images_per_s"] > 0 and metrics["memory"]["peak_rss_mb"] > 0
    assert metrics["memory"]["peak_gpu_mb"] is None
    assert sum(m["images"] for m in metrics["per_keyway"].values()) == 10
    confusion = json.loads((tmp_path / "plots" / PLOT_FILES["confusion"]).read_text())
    assert len(confusion) == 10 and {r["id"] for r in confusion} == {f"synthetic-{i:06d}" for i in range(8, 18)}
    assert sum(r["count"] for r in json.loads((tmp_path / "plots" / PLOT_FILES["reliability"]).read_text())) == 10
    assert (tmp_path / "plots" / "benchmark.png").is_file()


def test_benchmark_stage_refuses_a_leaky_split(tmp_path, model_dir):
    ingested, split = _make_split(tmp_path, {"train": 3, "val": 1, "test": 2})
    train = (split / "train.jsonl").read_text().splitlines()
    (split / "test.jsonl").write_text("\n".join([*(split / "test.jsonl").read_text().splitlines(), train[0]]) + "\n")
    with pytest.raises(SplitLeakError, match="test record synthetic-000000 id synthetic-000000 is also in train"):
        main(_args(tmp_path, model_dir, ingested, split))
    assert not (tmp_path / "metrics").exists()
