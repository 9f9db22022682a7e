"""The production profile and its synthetic data, as the GPU measurements run them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from keylike.benchmarks import merge_results
from keylike.config import load_params

PROFILES = Path(__file__).resolve().parent.parent / "profiles" / "profile"
"""The `+profile=<name>` files of `dvc exp run` (hydra config group `profile`)."""


def profile_settings(name: str) -> dict[str, Any]:
    """A profile's settings with the profiles its hydra `defaults` list first under them (h200: production, then h200)."""
    path = PROFILES / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROFILES.glob("*.yaml")))
        raise ValueError(f"no profile {name!r} in {PROFILES} (known: {known})")
    settings = yaml.safe_load(path.read_text())
    merged: dict[str, Any] = {}
    for parent in settings.pop("defaults", []):
        if parent != "_self_":
            merged = merge_results(merged, profile_settings(parent))
    return merge_results(merged, settings)


def production_params(params_path: Path | str = "params.yaml", overrides: list[str] = (),
                      profile: str = "production") -> dict[str, Any]:
    """params.yaml with a GPU profile on top (production, or h200 over production), then `block.key=value`
    overrides (YAML values)."""
    params = merge_results(load_params(params_path), profile_settings(profile))
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
