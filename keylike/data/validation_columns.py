"""Python's side of validation: one column per check, computed from the manifest lines and the image files.

Per record: the line is a ManifestRecord, its image lies inside the data set, decodes and matches the
manifest's hash, size and mode; its labels are cuttable on a known keyway with its brand, and the training
target parses back to them. Across records: one image never has two labels; each row carries its keyway's
record count, sources and balance, and the share ingest quarantined. Each failed check leaves its reason in
the row's `reasons`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from PIL import Image
from tqdm import tqdm

from keylike.data.images import open_image
from keylike.data.manifest import ManifestRecord
from keylike.errors import AnswerParseError
from keylike.keys import NO_KEY, KeyLabel, KeywaySpec, format_answer, load_specs, parse_answer
from keylike.keys.bittings import depth_problems, macs_problems


def check_rows(lines: list[tuple[int, bytes]], data_dir: Path, quarantined: int) -> list[dict[str, Any]]:
    """One row per (line number, bytes) of the manifest, with every check's column; `quarantined`: ingest's count."""
    rows = [_record_row(n, raw, data_dir) for n, raw in tqdm(lines, desc="validate", unit="record", leave=False)]
    total = len(rows) + quarantined
    _add_image_label_consistency(rows)
    _add_dataset_columns(rows, quarantined / total if total else 0.0)
    return rows


def _flag(reasons: dict[str, str], name: str, problem: str | None) -> bool:
    """Record `problem` under `name` and return whether the check passed."""
    if problem is not None:
        reasons[name] = problem
    return problem is None


def _parse_line(number: int, raw: bytes) -> tuple[ManifestRecord | None, str | None]:
    """A manifest line as a record, or the reason it is not one."""
    try:
        row = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"line {number} is not valid UTF-8 JSON: {exc}"
    if not isinstance(row, dict):
        return None, f"line {number} is a JSON {type(row).__name__}, not an object"
    problem = ManifestRecord.json_problem(row)
    if problem is not None:
        return None, f"line {number} {problem}"
    return ManifestRecord.from_json(row), None


def _image_columns(data_dir: Path, record: ManifestRecord, reasons: dict[str, str]) -> dict[str, Any]:
    """Read and decode the record's image: hash, decoded size and mode."""
    columns: dict[str, Any] = {"image_decodes": False, "image_hash_matches": None, "image_width": None,
                               "image_height": None, "image_mode": None, "image_size_matches_manifest": None,
                               "file_sha256": None}
    root = data_dir.resolve()
    path = (root / record.image).resolve()
    if Path(record.image).is_absolute() or not path.is_relative_to(root):
        reasons["image_decodes"] = f"image path {record.image!r} leaves the data set"
        return columns
    try:
        data = path.read_bytes()
    except OSError as exc:
        reasons["image_decodes"] = f"cannot read the image file: {exc.strerror or exc}"
        return columns
    digest = hashlib.sha256(data).hexdigest()
    columns["file_sha256"] = digest
    hash_problem = None
    if digest != record.sha256:
        hash_problem = f"file sha256 {digest[:12]}... is not the manifest's {record.sha256[:12]}..."
    columns["image_hash_matches"] = _flag(reasons, "image_hash_matches", hash_problem)
    try:
        with open_image(data, Image.MAX_IMAGE_PIXELS) as image:
            image.load()
            width, height, mode = image.width, image.height, image.mode
    except Exception as exc:  # ImageRefused, or any failure of a C decoder on the file's bytes
        reasons["image_decodes"] = f"the image does not decode: {exc}"
        return columns
    size_problem = None
    if (width, height) != (record.width, record.height):
        size_problem = f"decoded size {width}x{height} is not the manifest's {record.width}x{record.height}"
    columns.update(
        image_decodes=True, image_width=width, image_height=height, image_mode=mode,
        image_size_matches_manifest=_flag(reasons, "image_size_matches_manifest", size_problem),
    )
    return columns


def _depth_problems(spec: KeywaySpec, bitting: tuple[Any, ...]) -> str | None:
    """Every depth that is not an integer in the keyway's range (keylike.keys.bittings' rule), or None."""
    return "; ".join(depth_problems(spec, bitting)) or None


def _macs_problems(spec: KeywaySpec, bitting: tuple[Any, ...]) -> str | None:
    """Every adjacent pair of integer depths further apart than the MACS (keylike.keys.bittings' rule), or None."""
    return "; ".join(macs_problems(spec, bitting)) or None


def _round_trip_problem(label: KeyLabel) -> str | None:
    """Why the training target of `label` does not parse back to `label`, or None."""
    target = format_answer(label)
    try:
        parsed = parse_answer(target)
    except AnswerParseError as exc:
        return f"the training target does not parse back: {exc.reason}"
    return None if parsed == label else f"the training target parses back as {parsed}, not {label}"


def _label_columns(record: ManifestRecord, reasons: dict[str, str]) -> dict[str, Any]:
    """The label checks; those that need the keyway's spec are None for an unknown keyway."""
    columns: dict[str, Any] = {
        "brand_matches_keyway": None, "bitting_length_matches": None, "depths_in_range": None,
        "macs_respected": None,
        "answer_round_trips": _flag(reasons, "answer_round_trips", _round_trip_problem(record.label)),
    }
    if record.label.is_no_key:
        columns.update(
            brand_matches_keyway=_flag(reasons, "brand_matches_keyway",
                                       f"a photo with no key (keyway {NO_KEY}) has brand '', got {record.brand!r}"
                                       if record.brand else None),
            bitting_length_matches=_flag(reasons, "bitting_length_matches",
                                         f"a photo with no key (keyway {NO_KEY}) has no bitting, got "
                                         f"{_bitting_text(record.bitting)}" if record.bitting else None),
            depths_in_range=True, macs_respected=True,
        )
        return columns
    spec = load_specs().get(record.keyway)
    if spec is None:
        return columns
    brand = None
    if record.brand != spec.brand:
        brand = f"brand {record.brand!r} does not make {spec.code} ({spec.brand} does)"
    length = None
    if len(record.bitting) != spec.cuts:
        length = f"bitting {_bitting_text(record.bitting)} has {len(record.bitting)} cuts, {spec.code} has {spec.cuts}"
    columns.update(
        brand_matches_keyway=_flag(reasons, "brand_matches_keyway", brand),
        bitting_length_matches=_flag(reasons, "bitting_length_matches", length),
        depths_in_range=_flag(reasons, "depths_in_range", _depth_problems(spec, record.bitting)),
        macs_respected=_flag(reasons, "macs_respected", _macs_problems(spec, record.bitting)),
    )
    return columns


def _bitting_text(bitting: tuple[Any, ...]) -> str:
    return ",".join(map(str, bitting))


def _label_text(record: ManifestRecord) -> str:
    return f"{record.keyway} {_bitting_text(record.bitting)} {record.brand}"


def _record_row(number: int, raw: bytes, data_dir: Path) -> dict[str, Any]:
    """All per-record columns of one manifest line, with a reason for every failed check."""
    reasons: dict[str, str] = {}
    record, problem = _parse_line(number, raw)
    row: dict[str, Any] = {"line": number, "reasons": reasons, "record": record, "id": None,
                           "display_id": f"line {number}", "image": "?", "keyway": None,
                           "record_schema": _flag(reasons, "record_schema", problem)}
    if record is not None:
        row.update(id=record.id, display_id=record.id, image=record.image, keyway=record.keyway)
        row.update(_image_columns(data_dir, record, reasons))
        row.update(_label_columns(record, reasons))
    return row


def _add_image_label_consistency(rows: list[dict[str, Any]]) -> None:
    """same_image_same_label: records that share an image sha256 must share their labels."""
    by_hash: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["record"] is not None:
            by_hash[row["file_sha256"] or row["record"].sha256].append(row)
    for digest, group in by_hash.items():
        for row in group:
            other = next((o for o in group if o["record"].label != row["record"].label), None)
            problem = None
            if other is not None:
                problem = (f"same image (sha256 {digest[:12]}...) as {other['display_id']}, labelled "
                           f"{_label_text(other['record'])}; this one {_label_text(row['record'])}")
            row["same_image_same_label"] = _flag(row["reasons"], "same_image_same_label", problem)


def _add_dataset_columns(rows: list[dict[str, Any]], quarantined_share: float) -> None:
    """Per-keyway counts, sources and balance ratio on each row of a known keyway, and the quarantined share."""
    specs = load_specs()
    by_source: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        if row["keyway"] in specs:
            by_source[row["keyway"]][row["record"].source] += 1
    counts = Counter(row["keyway"] for row in rows if row["keyway"] in specs)
    smallest = min(counts.items(), key=lambda item: (item[1], item[0])) if counts else None
    for row in rows:
        count = counts.get(row["keyway"])
        row["keyway_records"] = count
        row["keyway_source_counts"] = dict(sorted(by_source[row["keyway"]].items())) if count else {}
        row["keyway_sources"] = ", ".join(f"{n} from {source}" for source, n in row["keyway_source_counts"].items())
        row["keyway_balance"] = count / smallest[1] if count and smallest else None
        row["smallest_keyway"] = f"{smallest[0]}, {smallest[1]}" if smallest else None
        row["quarantined_share"] = quarantined_share

