"""The production profile and its synthetic data, as the GPU measurements run them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from keylike.benchmarks import merge_results
from keylike.config import load_params

PROFILE = Path(__file__).resolve().parent.parent / "profiles" / "profile" / "production.yaml"


def production_params(params_path: Path | str = "params.yaml", overrides: list[str] = ()) -> dict[str, Any]:
    """params.yaml with the production profile on top, then `block.key=value` overrides (YAML values)."""
    params = merge_results(load_params(params_path), yaml.safe_load(PROFILE.read_text()))
    for override in overrides:
        key, _, value = override.partition("=")
        *blocks, leaf = key.split(".")
        target = params
        for block in blocks:
            target = target.setdefault(block, {})
        target[leaf] = yaml.safe_load(value)
    return params


def prepare_data(params: dict[str, Any], work: Path) -> dict[str, Any]:
    """Ingest the profile's synthetic photos and split them (the ingest and split stages' functions)."""
    from keylike.data.ingest import IngestConfig, ingest
    from keylike.data.manifest import write_manifest
    from keylike.data.split import SplitConfig, split_records

    started = time.perf_counter()
    (work / "raw").mkdir(parents=True, exist_ok=True)
    summary = ingest(IngestConfig.from_params(params), work / "raw", work / "ingested")
    splits = split_records(summary.records, SplitConfig.from_params(params))
    for name, records in splits.items():
        write_manifest(work / "split" / f"{name}.jsonl", records)
    return {"records": len(summary.records), "split": {k: len(v) for k, v in splits.items()},
            "seconds": time.perf_counter() - started}
