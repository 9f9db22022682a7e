"""What ingest reports about the data set it wrote: the metrics (IngestSummary) and the contact sheet."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any

from PIL import Image

from keylike.data.manifest import MANIFEST_NAME, ManifestRecord, read_manifest
from keylike.data.synthesis import write_contact_sheet
from keylike.data.user_datasets import ZIP_SLIP, QuarantineEntry
from keylike.io import write_metrics
from keylike.keys import keyway_codes


@dataclass(frozen=True)
class IngestSummary:
    """What came in, what went out and what was quarantined (the stage's metrics)."""

    records: list[ManifestRecord]
    quarantine: list[QuarantineEntry]
    sources: list[str]
    blank_lines: int

    HEADLINE = ("quarantined",)
    """What `dvc metrics show` lists; the rest goes to metrics/details/ (keylike.io.write_metrics)."""

    def write(self, path: Path | str) -> None:
        """Write the metrics (headline) and details files."""
        write_metrics(path, self.to_json(), self.HEADLINE)

    def to_json(self) -> dict[str, Any]:
        """Counts in / out / quarantined, by reason and by source; records_in = records_out + quarantined.

        A zip entry refused as `zip_slip` is not a record (a JSONL line is): it is listed in
        quarantine.jsonl and counted in `zip_slip_entries`, not in the record counts."""
        records = [q for q in self.quarantine if q.reason != ZIP_SLIP]
        by_source = {}
        for source in self.sources:
            out = sum(r.source == source for r in self.records)
            bad = Counter(q.reason for q in records if q.source == source)
            by_source[source] = {"in": out + sum(bad.values()), "out": out, "quarantined": sum(bad.values()),
                                 "quarantined_by_reason": dict(sorted(bad.items()))}
        reasons = Counter(q.reason for q in records)
        return {
            "records_in": len(self.records) + len(records),
            "records_out": len(self.records),
            "quarantined": len(records),
            "quarantined_by_reason": dict(sorted(reasons.items())),
            "zip_slip_entries": len(self.quarantine) - len(records),
            "by_source": by_source,
            "images_written": len({r.image for r in self.records}),
            "blank_lines": self.blank_lines,
        }


def _sheet_records(records: list[ManifestRecord], per_keyway: int) -> list[ManifestRecord]:
    """Up to `per_keyway` records of each keyway, taken from its sources in turn (so a user data set's
    photos show beside the synthetic ones), known keyways first in table order."""
    order = {code: i for i, code in enumerate(keyway_codes())}
    chosen: dict[str, dict[str, list[ManifestRecord]]] = {}
    for record in records:
        group = chosen.setdefault(record.keyway, {}).setdefault(record.source, [])
        if len(group) < per_keyway:
            group.append(record)
    sheet: list[ManifestRecord] = []
    for keyway in sorted(chosen, key=lambda k: (order.get(k, len(order)), k)):
        in_turn = [r for row in zip_longest(*chosen[keyway].values()) for r in row if r is not None]
        sheet += in_turn[:per_keyway]
    return sheet


def write_ingest_contact_sheet(data_dir: Path | str, path: Path | str, per_keyway: int = 6) -> None:
    """A contact sheet of an ingested data set: one row per keyway, labels and source under each image."""
    data_dir = Path(data_dir)
    records = _sheet_records(read_manifest(data_dir / MANIFEST_NAME), per_keyway)
    write_contact_sheet(path, ((Image.open(data_dir / r.image), r.label, r.source) for r in records), columns=per_keyway)
