"""Smoke test of stages/export.py on the tiny model: folders per format, metrics, the parity gate."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from keylike.errors import ExportParityError
from keylike.io import read_metrics

REPO = Path(__file__).resolve().parents[2]


def write_params(path: Path, **export) -> Path:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["export"] = {**params["export"], "formats": ["adapter", "merged"], "parity_samples": 3, "max_new_tokens": 6, **export}
    path.write_text(yaml.safe_dump(params))
    return path


def run_stage(stage, params: Path, tiny_lora, tiny_split, tmp_path: Path) -> Path:
    metrics = tmp_path / "metrics" / "export.json"
    stage.main([
        "--params", str(params), "--adapter", str(tiny_lora.adapter_dir), "--merged", str(tiny_lora.merged_dir),
        "--split", str(tiny_split.split_dir), "--images", str(tiny_split.images_dir),
        "--out", str(tmp_path / "export"), "--metrics", str(metrics),
    ])
    return metrics


def test_stage_writes_formats_and_metrics(stage, tiny_lora, tiny_split, tmp_path) -> None:
    import torch

    torch.set_num_threads(1)
    metrics = run_stage(stage, write_params(tmp_path / "params.yaml"), tiny_lora, tiny_split, tmp_path)
    report = read_metrics(metrics)
    assert set(report["formats"]) == {"adapter", "merged"}
    assert report["parity_samples"] == 3 and report["failing"] == []
    for entry in report["formats"].values():
        assert entry["size_bytes"] > 0 and entry["latency_s_per_image"] > 0
        assert 0 <= entry["answer_agreement"] <= 1
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == ["adapter", "merged", "parity.jsonl"]


def test_stage_fails_below_min_agreement_after_writing_metrics(stage, tiny_lora, tiny_split, tmp_path, monkeypatch) -> None:
    import torch

    from keylike.model.export import core

    torch.set_num_threads(1)
    monkeypatch.setattr(core, "answer_agreement", lambda reference, candidate: 0.5)
    with pytest.raises(ExportParityError, match=r"below export.min_agreement=0.95: adapter 0.500, merged 0.500"):
        run_stage(stage, write_params(tmp_path / "params.yaml"), tiny_lora, tiny_split, tmp_path)
    assert read_metrics(tmp_path / "metrics" / "export.json")["failing"] == ["adapter", "merged"]
