"""The split: no physical key and no image in two splits, stratified by keyway, byte-identical per seed,
and refused unless validation passed on the very same manifest."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from keylike.data.manifest import MANIFEST_NAME, ManifestRecord, read_manifest, write_manifest
from keylike.data.split import SPLITS, SplitConfig, split_dataset, split_records
from keylike.errors import ConfigError, KeylikeError, ValidationFailedError
from keylike.keys import get_spec, sample_bitting

KEYWAYS = {"SC1": 120, "KW1": 80, "M1": 40}
CONFIG = SplitConfig(val_fraction=0.1, test_fraction=0.2, seed=3407)


def _records(seed: int = 1) -> list[ManifestRecord]:
    """Records of several keyways where many physical keys have 1-4 photos, and some images are shared."""
    rng = np.random.default_rng(seed)
    records: list[ManifestRecord] = []
    for keyway, count in KEYWAYS.items():
        spec = get_spec(keyway)
        while sum(r.keyway == keyway for r in records) < count:
            bitting = sample_bitting(spec, rng)
            for _ in range(int(rng.integers(1, 5))):
                n = len(records)
                digest = hashlib.sha256(f"image-{n}".encode()).hexdigest()
                records.append(ManifestRecord(f"rec-{n:05d}", f"images/{digest}.jpg", digest, 64, 64, "synthetic",
                                              keyway, bitting, spec.brand))
    # The same image file under two ids with the same labels (a copy in two user data sets).
    records.append(ManifestRecord("copy-00000", records[0].image, records[0].sha256, 64, 64, "user",
                                  records[0].keyway, records[0].bitting, records[0].brand))
    return records


def _split_of(splits: dict[str, list[ManifestRecord]], key) -> dict[str, set[str]]:
    """For each value of key(record): the splits it appears in."""
    seen: dict[str, set[str]] = {}
    for name, part in splits.items():
        for record in part:
            seen.setdefault(key(record), set()).add(name)
    return seen


def test_no_group_and_no_image_hash_in_two_splits() -> None:
    records = _records()
    splits = split_records(records, CONFIG)
    assert sorted(r.id for part in splits.values() for r in part) == sorted(r.id for r in records)
    by_group = _split_of(splits, lambda r: r.group)
    by_hash = _split_of(splits, lambda r: r.sha256)
    assert all(len(names) == 1 for names in by_group.values())
    assert all(len(names) == 1 for names in by_hash.values())
    assert max(Counter(r.group for r in records).values()) > 1, "the fixture must have keys with several photos"


def test_an_image_shared_across_keys_pulls_both_keys_into_one_split() -> None:
    records = _records()
    first, other = records[0], next(r for r in records if r.keyway == "SC1" and r.group != records[0].group)
    # A mislabelled copy: the same image under another key's labels (validate rejects it; split still never leaks it).
    records.append(ManifestRecord("copy-00001", first.image, first.sha256, 64, 64, "user", other.keyway, other.bitting,
                                  other.brand))
    splits = split_records(records, CONFIG)
    by_hash = _split_of(splits, lambda r: r.sha256)
    by_group = _split_of(splits, lambda r: r.group)
    assert len(by_hash[first.sha256]) == 1
    assert by_group[first.group] == by_group[other.group]


def test_each_keyway_is_split_by_the_fractions() -> None:
    splits = split_records(_records(), CONFIG)
    for keyway, total in KEYWAYS.items():
        counts = {name: sum(r.keyway == keyway for r in part) for name, part in splits.items()}
        assert abs(counts["test"] - 0.2 * total) <= 4, (keyway, counts)  # a group has at most 4 photos
        assert abs(counts["val"] - 0.1 * total) <= 4, (keyway, counts)
        assert counts["train"] > counts["test"] > counts["val"] > 0


def test_same_input_and_seed_same_split_other_seed_other_split() -> None:
    records = _records()
    first = split_records(records, CONFIG)
    assert split_records(list(reversed(records)), CONFIG) == first
    other = split_records(records, SplitConfig(0.1, 0.2, seed=1))
    assert {r.id for r in other["test"]} != {r.id for r in first["test"]}


def _validated(tmp_path: Path, records: list[ManifestRecord], success: bool = True) -> tuple[Path, Path]:
    """An ingested folder with `records` and a validation.json for it."""
    data = tmp_path / "ingested"
    write_manifest(data / MANIFEST_NAME, records)
    digest = hashlib.sha256((data / MANIFEST_NAME).read_bytes()).hexdigest()
    validation = tmp_path / "validation.json"
    failed = [] if success else ["macs_respected", "keyway_known"]
    validation.write_text(json.dumps({"success": success, "manifest_sha256": digest, "failed": failed}))
    return data, validation


def test_split_dataset_writes_byte_identical_sorted_manifests(tmp_path: Path) -> None:
    data, validation = _validated(tmp_path, _records())
    summary = split_dataset(CONFIG, data, validation, tmp_path / "a")
    split_dataset(CONFIG, data, validation, tmp_path / "b")
    for name in SPLITS:
        a, b = (tmp_path / "a" / f"{name}.jsonl").read_bytes(), (tmp_path / "b" / f"{name}.jsonl").read_bytes()
        assert a == b
        ids = [r.id for r in read_manifest(tmp_path / "a" / f"{name}.jsonl")]
        assert ids == sorted(ids) and summary.counts[name]["total"] == len(ids)
    assert sum(summary.counts[name]["total"] for name in SPLITS) == len(_records())
    assert summary.counts["test"]["M1"] == sum(r.keyway == "M1" for r in read_manifest(tmp_path / "a" / "test.jsonl"))


def test_refuses_a_failed_validation(tmp_path: Path) -> None:
    data, validation = _validated(tmp_path, _records(), success=False)
    with pytest.raises(ValidationFailedError, match="says validation failed \\(macs_respected, keyway_known\\)"):
        split_dataset(CONFIG, data, validation, tmp_path / "split")
    assert not (tmp_path / "split").exists()


def test_refuses_without_validation(tmp_path: Path) -> None:
    data, _ = _validated(tmp_path, _records())
    with pytest.raises(ValidationFailedError, match="missing.json not found: run the validate stage"):
        split_dataset(CONFIG, data, tmp_path / "missing.json", tmp_path / "split")


def test_refuses_a_manifest_that_changed_after_validation(tmp_path: Path) -> None:
    records = _records()
    data, validation = _validated(tmp_path, records)
    write_manifest(data / MANIFEST_NAME, records[:-1])
    with pytest.raises(ValidationFailedError, match="validated another manifest"):
        split_dataset(CONFIG, data, validation, tmp_path / "split")


def test_too_few_keys_for_a_test_split_is_an_error(tmp_path: Path) -> None:
    everything = _records()
    records = [r for r in everything if r.group == everything[0].group]
    data, validation = _validated(tmp_path, records)
    with pytest.raises(KeylikeError, match="empty val and an empty test split: \\d+ records in 1 physical keys"):
        split_dataset(CONFIG, data, validation, tmp_path / "split")


@pytest.mark.parametrize(
    ("val", "test", "message"),
    [
        (-0.1, 0.2, "split.val_fraction must be in \\[0, 1\\), got -0.1"),
        (0.1, 1.0, "split.test_fraction must be in \\[0, 1\\), got 1.0"),
        (0.5, 0.5, "split.val_fraction \\+ split.test_fraction must be < 1"),
    ],
)
def test_config_range_checks_name_the_key(val: float, test: float, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SplitConfig.from_params({"base": {"seed": 1}, "split": {"val_fraction": val, "test_fraction": test}})
