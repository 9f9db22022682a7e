"""The validate stage: great-expectations checks on the ingested data set, the gate before training.

Per record: the image decodes, its size and mode are in bounds; the labels are cuttable on a known
keyway with its brand, and the training target parses back to them; one image never has two labels.
Per data set: enough records per keyway, balanced keyways, few records quarantined by ingest.
Python turns the manifest and the image files into one column per check (keylike.data.validation_columns);
great-expectations decides which rows fail and renders Data Docs (keylike.data.expectations); keylike names
each failing record and why (keylike.data.validation_report). This module holds the suite and runs it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keylike.config import check, config_from_block
from keylike.data.expectations import Check, evaluate, is_true
from keylike.data.manifest import MANIFEST_NAME, QUARANTINE_NAME, SYNTHETIC_SOURCE
from keylike.data.validation_columns import check_rows
from keylike.data.validation_report import ValidationReport
from keylike.errors import KeylikeError
from keylike.io import atomic_directory
from keylike.keys import NO_KEY, keyway_codes


@dataclass(frozen=True)
class ValidateConfig:
    """The `validate` block of params.yaml."""

    min_records_per_keyway: int
    """Every keyway present in the data set needs at least this many records."""
    max_class_ratio: float
    """Largest keyway count / smallest keyway count may not exceed this."""
    max_quarantined_share: float
    """Largest acceptable share of ingest's input that ingest quarantined (quarantine / (manifest + quarantine))."""
    min_image_side: int
    """Smallest acceptable image width or height, in pixels."""
    max_image_side: int
    """Largest acceptable image width or height, in pixels."""
    image_modes: tuple[str, ...]
    """PIL modes an ingested image may have (ingest writes RGB)."""

    def __post_init__(self) -> None:
        check(self.min_records_per_keyway >= 1, "validate.min_records_per_keyway",
              f"must be >= 1, got {self.min_records_per_keyway}")
        check(self.max_class_ratio >= 1, "validate.max_class_ratio", f"must be >= 1, got {self.max_class_ratio}")
        check(0 <= self.max_quarantined_share <= 1, "validate.max_quarantined_share",
              f"must be in [0, 1], got {self.max_quarantined_share}")
        check(self.min_image_side >= 1, "validate.min_image_side", f"must be >= 1, got {self.min_image_side}")
        check(self.max_image_side >= self.min_image_side, "validate.max_image_side",
              f"must be >= validate.min_image_side ({self.min_image_side}), got {self.max_image_side}")
        check(len(self.image_modes) > 0, "validate.image_modes", "must name at least one PIL mode, e.g. [RGB]")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ValidateConfig:
        """Build from params.yaml's `validate` block."""
        return config_from_block(cls, params, "validate")


def _checks(config: ValidateConfig, quarantined: int) -> list[Check]:
    """The suite, in the order the report lists it."""
    lo, hi = config.min_image_side, config.max_image_side
    modes, codes = list(config.image_modes), [*keyway_codes(), NO_KEY]

    def side(name: str) -> Check:
        column = f"image_{name}"
        return Check(f"image_{name}_in_bounds", f"image {name} is {lo}-{hi} px", "ExpectColumnValuesToBeBetween",
                      {"column": column, "min_value": lo, "max_value": hi},
                      explain=lambda row: f"{name} {int(row[column])} px is outside {lo}-{hi}")

    return [
        Check("records_present", "the manifest holds at least one record", "ExpectTableRowCountToBeBetween",
               {"min_value": 1}, detail=lambda _: "the manifest holds no records; check ingest's quarantine.jsonl"),
        is_true("record_schema", "each manifest line is a JSON object with the ManifestRecord fields and types"),
        Check("id_unique", "record ids are unique", "ExpectColumnValuesToBeUnique", {"column": "id"},
               explain=lambda row: f"id {row['id']!r} is used by more than one record"),
        is_true("image_decodes", "the image file lies inside the data set and decodes"),
        is_true("image_hash_matches", "the image file's sha256 is the one in the manifest"),
        side("width"),
        side("height"),
        is_true("image_size_matches_manifest", "the decoded size is the width and height in the manifest"),
        Check("image_mode_allowed", f"image mode is one of {', '.join(modes)}", "ExpectColumnValuesToBeInSet",
               {"column": "image_mode", "value_set": modes},
               explain=lambda row: f"mode {row['image_mode']} is not one of {', '.join(modes)}"),
        Check("keyway_known", "the keyway is in the spec table", "ExpectColumnValuesToBeInSet",
               {"column": "keyway", "value_set": codes},
               explain=lambda row: f"keyway {row['keyway']!r} is not one of {', '.join(codes)}"),
        is_true("brand_matches_keyway", "the brand is the one that makes the keyway"),
        is_true("bitting_length_matches", "the bitting has the keyway's number of cuts"),
        is_true("depths_in_range", "every depth is an integer in the keyway's depth range"),
        is_true("macs_respected", "adjacent cuts differ by at most the keyway's MACS"),
        is_true("answer_round_trips", "the training target (format_answer) parses back to the same labels"),
        is_true("same_image_same_label", "records with the same image sha256 have the same labels"),
        Check("min_records_per_keyway", f"every keyway present has >= {config.min_records_per_keyway} records",
               "ExpectColumnValuesToBeBetween",
               {"column": "keyway_records", "min_value": config.min_records_per_keyway},
               explain=lambda row: f"keyway {row['keyway']} has {int(row['keyway_records'])} records "
               f"({row['keyway_sources']}), fewer than min_records_per_keyway {config.min_records_per_keyway}; fix: "
               f"{_too_few_fix(row, config.min_records_per_keyway)}", per_keyway=True),
        Check("class_balance", f"largest / smallest keyway count <= {config.max_class_ratio}",
               "ExpectColumnValuesToBeBetween", {"column": "keyway_balance", "max_value": config.max_class_ratio},
               explain=lambda row: f"keyway {row['keyway']} has {int(row['keyway_records'])} records "
               f"({row['keyway_sources']}), {row['keyway_balance']:.2f}x the smallest keyway ({row['smallest_keyway']}), "
               f"over max_class_ratio {config.max_class_ratio}; fix: {_imbalance_fix(row, config.max_class_ratio)}",
               per_keyway=True),
        Check("quarantined_share", f"share of ingest's input quarantined by ingest <= {config.max_quarantined_share}",
               "ExpectColumnMaxToBeBetween", {"column": "quarantined_share", "max_value": config.max_quarantined_share},
               detail=lambda share: "not measured: the manifest is empty" if share is None else
               f"ingest quarantined {quarantined} records, {share:.1%} of its input, over "
               f"max_quarantined_share {config.max_quarantined_share:.1%}; see {QUARANTINE_NAME}"),
    ]


_SYNTHETIC_FIX = "raise ingest.synthetic_count or the keyway's weight in ingest.keyway_mix"


def _user_sources(row: dict[str, Any]) -> list[str]:
    return [source for source in row["keyway_source_counts"] if source != SYNTHETIC_SOURCE]


def _too_few_fix(row: dict[str, Any], minimum: int) -> str:
    """How to bring a keyway up to `minimum` records, naming the data set that brought it."""
    missing = minimum - int(row["keyway_records"])
    users = _user_sources(row)
    if users:
        return (f"add {missing} or more photos of {row['keyway']} to data set {users[0]}, or remove its "
                f"{row['keyway']} photos, or lower validate.min_records_per_keyway")
    return f"{_SYNTHETIC_FIX}, or lower validate.min_records_per_keyway"


def _imbalance_fix(row: dict[str, Any], ratio: float) -> str:
    """How to bring a keyway within `ratio` of the smallest, naming the data set that brought the excess."""
    smallest = int(row["smallest_keyway"].rsplit(", ", 1)[1])
    keep = int(ratio * smallest)
    users = _user_sources(row)
    where = f"data set {users[0]} (it brings {row['keyway_source_counts'][users[0]]})" if users else "the synthetic mix"
    return (f"keep at most {keep} photos of {row['keyway']} (cut them in {where}), add photos of the smallest "
            f"keyway, or raise validate.max_class_ratio")


def _count_lines(path: Path) -> int:
    return sum(1 for line in path.read_bytes().splitlines() if line.strip())


def validate_dataset(config: ValidateConfig, data_dir: Path | str, docs_dir: Path | str) -> ValidationReport:
    """Run every check on the ingested data set in `data_dir`; write Data Docs (atomically) to `docs_dir`."""
    data_dir, docs_dir = Path(data_dir), Path(docs_dir)
    manifest, quarantine = data_dir / MANIFEST_NAME, data_dir / QUARANTINE_NAME
    for path in (manifest, quarantine):
        if not path.is_file():
            raise KeylikeError(f"{path} not found: run the ingest stage (`keylike ingest`) first")
    content = manifest.read_bytes()
    quarantined = _count_lines(quarantine)
    lines = [(n, raw) for n, raw in enumerate(content.splitlines(), start=1) if raw.strip()]
    rows = check_rows(lines, data_dir, quarantined)
    checks = _checks(config, quarantined)
    with atomic_directory(docs_dir) as tmp:
        outcomes = evaluate(rows, checks, tmp)
        page = next(iter(sorted(tmp.glob("validations/**/*.html"))), None)
        page_path = str(docs_dir / page.relative_to(tmp)) if page else None
    return ValidationReport(
        data_dir=str(data_dir),
        manifest_sha256=hashlib.sha256(content).hexdigest(),
        records=len(rows),
        quarantined=quarantined,
        outcomes=outcomes,
        docs_index=str(docs_dir / "index.html"),
        docs_page=page_path,
    )


def run_validation(
    config: ValidateConfig, data_dir: Path | str, docs_dir: Path | str, metrics_path: Path | str
) -> ValidationReport:
    """The validate stage: validate, write the metrics and Data Docs, raise ValidationFailedError on failure."""
    report = validate_dataset(config, data_dir, docs_dir)
    report.write_json(metrics_path)
    report.raise_if_failed()
    return report
