"""ManifestRecord's JSON form: to_json and from_json round-trip, and json_problem names what a row gets wrong."""

from __future__ import annotations

import pytest

from keylike.data.manifest import ManifestRecord, read_manifest, write_manifest

RECORD = ManifestRecord("synthetic-000001", "images/ab.jpg", "ab" * 32, 48, 40, "synthetic", "SC1", (1, 2, 3, 4, 5),
                        "Schlage")


def test_a_record_round_trips_through_its_json_and_the_manifest_file(tmp_path) -> None:
    row = RECORD.to_json()
    assert row["bitting"] == [1, 2, 3, 4, 5] and ManifestRecord.json_problem(row) is None
    write_manifest(tmp_path / "m.jsonl", [RECORD])
    assert read_manifest(tmp_path / "m.jsonl") == [RECORD]


@pytest.mark.parametrize(("change", "problem"), [
    ({"brand": None}, "has missing fields ['brand'] and unknown fields []"),
    ({"extra": 1}, "has missing fields [] and unknown fields ['extra']"),
    ({"width": "48"}, "field width must be a JSON int, got '48'"),
    ({"width": True}, "field width must be a JSON int, got True"),
    ({"bitting": "12345"}, "field bitting must be a JSON list, got '12345'"),
    ({"keyway": 7}, "field keyway must be a JSON str, got 7"),
])
def test_json_problem_names_the_field(change: dict, problem: str) -> None:
    row = {**RECORD.to_json(), **change}
    row = {k: v for k, v in row.items() if v is not None}
    assert ManifestRecord.json_problem(row) == problem
