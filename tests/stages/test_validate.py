"""Smoke test of the validate stage: main([...]) on tiny ingested sets in tmp_path, and `keylike validate`."""

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keylike.cli import main as cli_main
from keylike.data.manifest import MANIFEST_NAME, QUARANTINE_NAME, ManifestRecord, write_manifest
from keylike.errors import ValidationFailedError
from keylike.io import read_metrics
from keylike.keys import get_spec, keyway_codes, sample_bitting

PARAMS = """validate:
  min_records_per_keyway: 2
  max_class_ratio: 2.0
  max_quarantined_share: 0.1
  min_image_side: 32
  max_image_side: 256
  image_modes: [RGB]
"""


def _ingested(root: Path, bad_brand: bool = False) -> Path:
    """Two 64 px JPEGs of every keyway; with `bad_brand`, the first record names the wrong brand."""
    rng = np.random.default_rng(3)
    (root / "images").mkdir(parents=True)
    records = []
    for n in range(2 * len(keyway_codes())):
        spec = get_spec(keyway_codes()[n % len(keyway_codes())])
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG")
        digest = hashlib.sha256(buffer.getvalue()).hexdigest()
        (root / "images" / f"{digest}.jpg").write_bytes(buffer.getvalue())
        brand = "Nobody" if bad_brand and n == 0 else spec.brand
        records.append(ManifestRecord(f"synthetic-{n:06d}", f"images/{digest}.jpg", digest, 64, 64, "synthetic",
                                      spec.code, sample_bitting(spec, rng), brand))
    write_manifest(root / MANIFEST_NAME, records)
    (root / QUARANTINE_NAME).write_text("")
    return root


def _args(tmp_path: Path, data: Path) -> list[str]:
    params = tmp_path / "params.yaml"
    params.write_text(PARAMS)
    return ["--params", str(params), "--data", str(data), "--docs", str(tmp_path / "docs"),
            "--metrics", str(tmp_path / "metrics" / "validation.json")]


def test_stage_passes_a_clean_set_and_the_command_agrees(stage, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = _args(tmp_path, _ingested(tmp_path / "ingested"))
    stage.main(args)
    metrics = read_metrics(tmp_path / "metrics" / "validation.json")
    assert metrics["success"] is True and metrics["records"] == 2 * len(keyway_codes())
    assert (tmp_path / "docs" / "index.html").is_file()
    assert cli_main(["validate", *args]) == 0
    assert "passed: 19 expectations" in capsys.readouterr().out


def test_stage_fails_but_still_writes_metrics_and_docs(stage, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = _args(tmp_path, _ingested(tmp_path / "ingested", bad_brand=True))
    with pytest.raises(ValidationFailedError, match="brand_matches_keyway: 1 record fails: synthetic-000000 "
                       "\\(images/[0-9a-f]{64}\\.jpg\\): brand 'Nobody' does not make SC1"):
        stage.main(args)
    metrics = read_metrics(tmp_path / "metrics" / "validation.json")
    assert metrics["failed"] == ["brand_matches_keyway", "answer_round_trips"] and metrics["failed_expectations"] == 2
    assert "docs_page" not in metrics, "the run-time page path would make the metrics differ run to run"
    assert list((tmp_path / "docs").glob("validations/**/*.html"))
    assert cli_main(["validate", *args]) == 1
    assert "keylike validate: error: validation of" in capsys.readouterr().err
