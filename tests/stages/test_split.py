"""Smoke test of the split stage: main([...]) on a tiny validated manifest in tmp_path, and `keylike split`."""

import hashlib
import json
from pathlib import Path

import pytest

from keylike.cli import main as cli_main
from keylike.data.manifest import MANIFEST_NAME, ManifestRecord, read_manifest, write_manifest
from keylike.errors import ValidationFailedError
from keylike.io import read_metrics
from keylike.keys import get_spec

PARAMS = "base:\n  seed: 11\nsplit:\n  val_fraction: 0.2\n  test_fraction: 0.2\n"


def _setup(tmp_path: Path, success: bool) -> list[str]:
    """A manifest of 10 keys x 2 photos per keyway (images are not read by split) and its validation.json."""
    records = []
    for keyway in ("SC1", "KW1"):
        for key in range(10):
            for photo in range(2):
                name = f"{keyway}-{key}-{photo}"
                records.append(ManifestRecord(name, f"images/{name}.jpg", hashlib.sha256(name.encode()).hexdigest(),
                                              64, 64, "synthetic", keyway, (1, 2, 3, key // 5 + 1, key % 5 + 1),
                                              get_spec(keyway).brand))
    write_manifest(tmp_path / "ingested" / MANIFEST_NAME, records)
    digest = hashlib.sha256((tmp_path / "ingested" / MANIFEST_NAME).read_bytes()).hexdigest()
    validation = {"success": success, "manifest_sha256": digest, "failed": [] if success else ["x"]}
    (tmp_path / "validation.json").write_text(json.dumps(validation))
    (tmp_path / "params.yaml").write_text(PARAMS)
    return ["--params", str(tmp_path / "params.yaml"), "--data", str(tmp_path / "ingested"),
            "--validation", str(tmp_path / "validation.json"), "--out", str(tmp_path / "split"),
            "--metrics", str(tmp_path / "split.json")]


def test_stage_writes_three_manifests_and_counts(stage, tmp_path: Path) -> None:
    args = _setup(tmp_path, success=True)
    stage.main(args)
    metrics = read_metrics(tmp_path / "split.json")
    for name in ("train", "val", "test"):
        part = read_manifest(tmp_path / "split" / f"{name}.jsonl")
        assert metrics["counts"][name]["total"] == len(part) > 0
        assert metrics["counts"][name]["SC1"] == sum(r.keyway == "SC1" for r in part)
    assert metrics["counts"]["test"] == {"KW1": 4, "SC1": 4, "total": 8}
    first = {n: (tmp_path / "split" / f"{n}.jsonl").read_bytes() for n in ("train", "val", "test")}
    assert cli_main(["split", *args]) == 0
    assert first == {n: (tmp_path / "split" / f"{n}.jsonl").read_bytes() for n in ("train", "val", "test")}


def test_stage_refuses_after_failed_validation(stage, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailedError, match="says validation failed \\(x\\)"):
        stage.main(_setup(tmp_path, success=False))
    assert not (tmp_path / "split").exists()
