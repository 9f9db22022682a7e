"""The README's "Adding your own images" recipe, run as written in a copy of this repository (reduced
synthetic mix): a new data set is ingested, validated and split beside the synthetic photos."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from keylike.data.manifest import read_manifest
from keylike.io import read_metrics

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"<!-- test:own-photos -->\s*```bash\n(.*?)\n```", re.S)


def recipe() -> str:
    """The shell block after the `<!-- test:own-photos -->` marker of README.md."""
    found = BLOCK.search(README.read_text())
    assert found, "README.md lacks the <!-- test:own-photos --> block"
    return found.group(1)


def test_recipe_stops_before_training() -> None:
    assert "dvc repro split" in recipe() and not re.search(r"dvc repro\s*$", recipe(), re.M)


@pytest.mark.slow
def test_own_photos_recipe_as_written(reduced_pipeline) -> None:
    repo = reduced_pipeline.path
    reduced_pipeline.run("bash", "-euo", "pipefail", "-c", recipe())

    ingest = read_metrics(repo / "metrics/ingest.json")
    assert ingest["by_source"]["my_keys"]["out"] == 60 and ingest["quarantined"] == 0
    assert read_metrics(repo / "metrics/validation.json")["failed_expectations"] == 0
    sources = {r.source for name in ("train", "val", "test") for r in read_manifest(repo / f"data/split/{name}.jsonl")}
    assert sources == {"synthetic", "my_keys"}
    assert not (repo / "data/models/adapter").exists()  # the recipe stops before training
