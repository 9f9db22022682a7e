"""The normalised data set manifest: one JSON line per image, written by ingest, read downstream."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import get_origin, get_type_hints

from keylike.io import read_jsonl, write_jsonl
from keylike.keys.answer import KeyLabel

MANIFEST_NAME = "manifest.jsonl"
QUARANTINE_NAME = "quarantine.jsonl"
SYNTHETIC_SOURCE = "synthetic"
"""The `source` of records rendered by ingest (a user data set's source is its folder or zip name)."""


@dataclass(frozen=True)
class ManifestRecord:
    """One ingested image and its labels."""

    id: str
    """Stable record id, e.g. `synthetic-000042` or `<dataset>-L17` (line 17 of its JSONL)."""
    image: str
    """Image path relative to the ingested data set folder, e.g. `images/3f2a....jpg`."""
    sha256: str
    """sha256 of the normalised image file."""
    width: int
    height: int
    source: str
    """Where the record came from: `synthetic` or the user data set's name."""
    keyway: str
    bitting: tuple[int, ...]
    brand: str

    @property
    def label(self) -> KeyLabel:
        """The labels as a KeyLabel."""
        return KeyLabel(self.keyway, self.bitting, self.brand)

    @property
    def group(self) -> str:
        """The physical key: photos with the same keyway and bitting are the same key; a photo with
        no key is a group of its own (by image hash)."""
        if self.label.is_no_key:
            return f"{self.keyway}:{self.sha256}"
        return f"{self.keyway}:{','.join(map(str, self.bitting))}"

    def to_json(self) -> dict:
        """JSON-ready dict (bitting as a list)."""
        row = asdict(self)
        row["bitting"] = list(self.bitting)
        return row

    @classmethod
    def from_json(cls, row: dict) -> ManifestRecord:
        """Inverse of to_json."""
        return cls(**{**row, "bitting": tuple(row["bitting"])})

    @classmethod
    def json_problem(cls, row: dict) -> str | None:
        """Why the JSON object `row` is not a record (missing or unknown fields, a value of the wrong JSON type),
        or None."""
        hints = get_type_hints(cls)
        kinds = {f.name: list if get_origin(hints[f.name]) is tuple else hints[f.name] for f in fields(cls)}
        missing, unknown = sorted(set(kinds) - set(row)), sorted(set(row) - set(kinds))
        if missing or unknown:
            return f"has missing fields {missing} and unknown fields {unknown}"
        for name, kind in kinds.items():
            value = row[name]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                return f"field {name} must be a JSON {kind.__name__}, got {value!r}"
        return None


def read_manifest(path: Path | str) -> list[ManifestRecord]:
    """Read a manifest JSONL (the ingested set's, or one split's)."""
    return [ManifestRecord.from_json(row) for row in read_jsonl(path)]


def write_manifest(path: Path | str, records: list[ManifestRecord]) -> None:
    """Atomically write a manifest JSONL."""
    write_jsonl(path, (r.to_json() for r in records))
