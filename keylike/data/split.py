"""The split stage: train/val/test manifests, stratified by keyway, with no physical key in two splits.

Records are grouped before they are split: photos of one physical key (same keyway and bitting, i.e.
ManifestRecord.group) and copies of one image file (same sha256) form one group, and a group goes to
one split. Within each keyway the groups are shuffled with a generator seeded by (seed, keyway), then
filled into test and val up to their fractions of the keyway; the rest is train.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from keylike.config import base_seed, check, config_from_block
from keylike.data.manifest import MANIFEST_NAME, ManifestRecord, read_manifest, write_manifest
from keylike.errors import KeylikeError, ValidationFailedError
from keylike.io import atomic_directory, write_metrics

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitConfig:
    """The `split` block of params.yaml, plus `base.seed`."""

    val_fraction: float
    """Share of each keyway's records that goes to val."""
    test_fraction: float
    """Share of each keyway's records that goes to test."""
    seed: int
    """From `base.seed`: the same seed and manifest give byte-identical splits."""

    def __post_init__(self) -> None:
        check(0 <= self.val_fraction < 1, "split.val_fraction", f"must be in [0, 1), got {self.val_fraction}")
        check(0 <= self.test_fraction < 1, "split.test_fraction", f"must be in [0, 1), got {self.test_fraction}")
        check(self.val_fraction + self.test_fraction < 1, "split.val_fraction + split.test_fraction",
              f"must be < 1 to leave a train split, got {self.val_fraction + self.test_fraction}")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SplitConfig:
        """Build from params.yaml's `split` block and `base.seed`."""
        return config_from_block(cls, params, "split", seed=base_seed(params))

    def fraction(self, split: str) -> float:
        """The share of records `split` should get."""
        fractions = {"val": self.val_fraction, "test": self.test_fraction}
        return fractions.get(split, 1 - self.val_fraction - self.test_fraction)


@dataclass(frozen=True)
class SplitSummary:
    """What the split stage wrote: records and groups per split, and records per split and keyway."""

    seed: int
    counts: dict[str, dict[str, int]]
    """counts[split][keyway], plus counts[split]["total"]."""
    groups: dict[str, int]
    """Physical keys (groups) per split."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict for metrics/split.json."""
        return {"seed": self.seed, "counts": self.counts, "groups": self.groups}

    def write_json(self, path: Path | str) -> None:
        """Write metrics/split.json (test photos) and its details (per keyway, groups, seed)."""
        write_metrics(path, self.to_json(), ["counts.test.total"])


def _groups(records: list[ManifestRecord]) -> list[list[ManifestRecord]]:
    """Connected components of records linked by a shared physical key or a shared image hash."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for record in records:
        parent[find(f"hash:{record.sha256}")] = find(f"key:{record.group}")
    components: dict[str, list[ManifestRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.id):
        components[find(f"key:{record.group}")].append(record)
    return sorted(components.values(), key=lambda group: group[0].id)


def _assign(groups: list[list[ManifestRecord]], config: SplitConfig, keyway: str) -> dict[str, list[ManifestRecord]]:
    """Shuffle one keyway's groups and fill test, then val, to their targets; the rest is train."""
    rng = np.random.default_rng([config.seed, zlib.crc32(keyway.encode())])
    total = sum(len(g) for g in groups)
    targets = {name: round(total * config.fraction(name)) for name in ("test", "val")}
    assigned: dict[str, list[ManifestRecord]] = {name: [] for name in SPLITS}
    for index in rng.permutation(len(groups)):
        group = groups[index]
        # A group joins test or val while that brings the split closer to its target.
        name = next((n for n in targets if len(assigned[n]) + len(group) / 2 <= targets[n]), "train")
        assigned[name].extend(group)
    return assigned


def split_records(records: list[ManifestRecord], config: SplitConfig) -> dict[str, list[ManifestRecord]]:
    """Split `records` by group, stratified by keyway; each split sorted by record id."""
    by_keyway: dict[str, list[list[ManifestRecord]]] = defaultdict(list)
    for group in _groups(records):
        by_keyway[group[0].keyway].append(group)
    splits: dict[str, list[ManifestRecord]] = {name: [] for name in SPLITS}
    for keyway in sorted(by_keyway):
        for name, part in _assign(by_keyway[keyway], config, keyway).items():
            splits[name].extend(part)
    return {name: sorted(part, key=lambda r: r.id) for name, part in splits.items()}


def require_validated(validation_path: Path | str, manifest_path: Path | str) -> None:
    """Refuse to go on unless `validation_path` says this very manifest passed validation."""
    validation_path, manifest_path = Path(validation_path), Path(manifest_path)
    if not validation_path.is_file():
        raise ValidationFailedError(
            f"{validation_path} not found: run the validate stage (`keylike validate`) before splitting"
        )
    report = json.loads(validation_path.read_text())
    if report.get("success") is not True:
        failed = ", ".join(report.get("failed") or []) or "unknown expectations"
        raise ValidationFailedError(
            f"{validation_path} says validation failed ({failed}); fix the data set and re-run "
            "`keylike validate` before splitting"
        )
    digest = hashlib.sha256(manifest_path.read_bytes()).hexdigest()
    if report.get("manifest_sha256") != digest:
        raise ValidationFailedError(
            f"{validation_path} validated another manifest than {manifest_path} (sha256 differs); "
            "re-run `keylike validate` on this data set before splitting"
        )


def split_dataset(
    config: SplitConfig, data_dir: Path | str, validation_path: Path | str, out_dir: Path | str
) -> SplitSummary:
    """The split stage: check validation passed, split the manifest, write {train,val,test}.jsonl to `out_dir`."""
    manifest = Path(data_dir) / MANIFEST_NAME
    require_validated(validation_path, manifest)
    records = read_manifest(manifest)
    splits = split_records(records, config)
    empty = [name for name in ("val", "test") if config.fraction(name) > 0 and not splits[name]]
    if empty:
        raise KeylikeError(
            f"the split gave an empty {' and an empty '.join(empty)} split: {len(records)} records in "
            f"{len(_groups(records))} physical keys are too few; add data or set "
            f"{' and '.join(f'split.{n}_fraction' for n in empty)} to 0"
        )
    with atomic_directory(out_dir) as tmp:
        for name, part in splits.items():
            write_manifest(tmp / f"{name}.jsonl", part)
    counts = {}
    for name, part in splits.items():
        keyways = sorted({r.keyway for r in part})
        counts[name] = {kw: sum(r.keyway == kw for r in part) for kw in keyways} | {"total": len(part)}
    return SplitSummary(
        seed=config.seed, counts=counts, groups={name: len({r.group for r in part}) for name, part in splits.items()}
    )


def read_splits(split_dir: Path | str) -> dict[str, list[ManifestRecord]]:
    """The train, val and test manifests of a split folder (a split may be empty); a missing one raises naming the file."""
    splits = {}
    for name in SPLITS:
        path = Path(split_dir) / f"{name}.jsonl"
        if not path.is_file():
            raise KeylikeError(f"split file {path} not found; run `keylike split` (or `dvc repro split`) first")
        splits[name] = read_manifest(path)
    return splits


def read_split(split_dir: Path | str, name: str) -> list[ManifestRecord]:
    """Records of split `name` (`train`, `val`, `test`) from `split_dir/<name>.jsonl`; missing or empty raises."""
    records = read_splits(split_dir)[name]
    if not records:
        raise KeylikeError(f"split file {Path(split_dir) / f'{name}.jsonl'} is empty; the {name} split needs at least one record")
    return records
