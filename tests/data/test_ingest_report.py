"""What ingest reports: the metrics count records (not zip entries), and the contact sheet shows a few per keyway."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from keylike.data.ingest_report import IngestSummary, write_ingest_contact_sheet
from keylike.data.manifest import MANIFEST_NAME, ManifestRecord, write_manifest
from keylike.data.user_datasets import ZIP_SLIP, QuarantineEntry


def _record(n: int, keyway: str, source: str = "synthetic") -> ManifestRecord:
    return ManifestRecord(f"r{n}", f"images/{n}.png", f"{n:064d}", 40, 30, source, keyway, (1, 2, 3, 4, 5), "Schlage")


def test_summary_counts_records_in_out_and_zip_slip_entries_apart() -> None:
    quarantine = [QuarantineEntry("mykeys", 2, "images/a.jpg", "missing_image", "not there", "mykeys-L2"),
                  QuarantineEntry("mykeys", None, "../evil", ZIP_SLIP, "climbs out")]
    counts = IngestSummary([_record(1, "SC1", "mykeys")], quarantine, ["mykeys"], blank_lines=3).to_json()
    assert (counts["records_in"], counts["records_out"], counts["quarantined"]) == (2, 1, 1)
    assert counts["zip_slip_entries"] == 1 and counts["blank_lines"] == 3
    assert counts["by_source"]["mykeys"] == {"in": 2, "out": 1, "quarantined": 1,
                                             "quarantined_by_reason": {"missing_image": 1}}


def _sheet(folder: Path, keyways: list[str], per_keyway: int) -> tuple[int, int]:
    """The size of the contact sheet of an ingested folder holding one record per entry of `keyways`."""
    (folder / "images").mkdir(parents=True)
    records = [_record(n, keyway) for n, keyway in enumerate(keyways)]
    for record in records:
        Image.new("RGB", (40, 30), (200, 100, 50)).save(folder / record.image)
    write_manifest(folder / MANIFEST_NAME, records)
    write_ingest_contact_sheet(folder, folder / "sheet.png", per_keyway=per_keyway)
    with Image.open(folder / "sheet.png") as sheet:
        return sheet.size


def test_contact_sheet_shows_at_most_per_keyway_records_of_each_keyway(tmp_path: Path) -> None:
    width, height = _sheet(tmp_path / "one", ["SC1"] * 5, per_keyway=2)
    assert _sheet(tmp_path / "three", ["SC1"] * 3 + ["KW1"] * 3 + ["ZZ9"] * 3, per_keyway=2) == (width, 3 * height)
