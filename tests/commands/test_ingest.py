"""`keylike ingest`: the same ingest as the stage, counts printed; a bad data set path exits 2 with one line."""

import json
from pathlib import Path

import pytest
import yaml

from keylike.cli import main
from keylike.io import read_metrics

REPO = Path(__file__).resolve().parents[2]


def _params(tmp_path: Path, **ingest) -> Path:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["ingest"].update({"synthetic_count": 4, "image_size": 48, **ingest})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_ingest_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ingested"
    rc = main(["ingest", "--params", str(_params(tmp_path)), "--raw", str(tmp_path), "--out", str(out),
               "--metrics", str(tmp_path / "m.json"), "--contact-sheet", str(tmp_path / "sheet.png"), "--workers", "1"])
    assert rc == 0 and (tmp_path / "sheet.png").is_file()
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"records_in": 4, "records_out": 4, "quarantined": 0, "quarantined_by_reason": {}}
    assert read_metrics(tmp_path / "m.json")["records_out"] == 4
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 4


def test_ingest_command_missing_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = _params(tmp_path, user_datasets=[str(tmp_path / "nope.zip")])
    assert main(["ingest", "--params", str(params), "--raw", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "ingest.user_datasets[0]" in capsys.readouterr().err
