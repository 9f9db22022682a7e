"""Smoke test of the ingest stage: main([...]) with the synthetic source and a zipped user data set, in tmp_path."""

import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml
from PIL import Image

from keylike.data.manifest import read_manifest
from keylike.io import read_metrics

REPO = Path(__file__).resolve().parents[2]


def test_ingest_stage(stage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["ingest"].update({"synthetic_count": 14, "image_size": 64, "user_datasets": ["data/raw/phone.zip"]})
    Path("params.yaml").write_text(yaml.safe_dump(params))
    Path("data/raw").mkdir(parents=True)
    photo = io.BytesIO()
    Image.new("RGB", (48, 32), (180, 140, 60)).save(photo, format="JPEG")
    with zipfile.ZipFile("data/raw/phone.zip", "w") as archive:
        archive.writestr("images/a.jpg", photo.getvalue())
        rows = [{"image_path": "images/a.jpg", "bittings": [2, 4, 1, 3, 5], "keyway": "KW1", "brand": "Kwikset"},
                {"image_path": "/etc/passwd", "bittings": [2, 4, 1, 3, 5], "keyway": "KW1", "brand": "Kwikset"}]
        archive.writestr("labels.jsonl", "".join(json.dumps(r) + "\n" for r in rows))

    stage.main(["--params", "params.yaml", "--raw", "data/raw", "--out", "data/ingested",
                "--metrics", "metrics/ingest.json", "--contact-sheet", "metrics/plots/contact_sheet.png"])

    records = read_manifest("data/ingested/manifest.jsonl")
    assert [r.source for r in records] == ["synthetic"] * 14 + ["phone"]
    assert all((Path("data/ingested") / r.image).is_file() for r in records)
    metrics = read_metrics("metrics/ingest.json")
    assert (metrics["records_in"], metrics["records_out"], metrics["quarantined"]) == (16, 15, 1)
    assert metrics["quarantined_by_reason"] == {"unsafe_path": 1}
    assert metrics["by_source"]["phone"] == {"in": 2, "out": 1, "quarantined": 1,
                                             "quarantined_by_reason": {"unsafe_path": 1}}
    quarantine = [json.loads(line) for line in Path("data/ingested/quarantine.jsonl").read_text().splitlines()]
    assert quarantine[0]["id"] == "phone-L2" and quarantine[0]["image_path"] == "/etc/passwd"
    with Image.open("metrics/plots/contact_sheet.png") as sheet:
        assert sheet.format == "PNG"
