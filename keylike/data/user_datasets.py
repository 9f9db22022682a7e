"""Reading user data sets in the Keylike format: a folder or a `.zip` holding `labels.jsonl` (one
`{"image_path": "images/key_001.jpg", "bittings": [1,2,5,3,7], "keyway": "SC1", "brand": "Schlage"}` per
line) beside the images it names.

Each non-blank line becomes a Candidate (a record whose image is still to be read) or a QuarantineEntry
naming why it cannot be taken in; a data set that cannot be opened at all is a ConfigError. The quarantine
reasons and the boundary with the validate stage are described in keylike.data.ingest.
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keylike.data.admission import READ_ERRORS, lies_within, safe_relative
from keylike.data.synthesis import LABELS_NAME
from keylike.errors import ConfigError, RefusedInputError

REQUIRED_FIELDS = ("image_path", "bittings", "keyway", "brand")
ZIP_SLIP = "zip_slip"
"""The quarantine reason of a zip entry (not a record) whose name is absolute or climbs out of the archive."""
_MAX_LABELS_BYTES = 256 * 2**20


@dataclass(frozen=True)
class QuarantineEntry:
    """One record (or zip entry) that ingest could not take in, and why."""

    source: str
    line: int | None
    """Line of the data set's JSONL (1-based); None for synthetic samples and zip entries."""
    image_path: str | None
    reason: str
    message: str
    id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"id": self.id, "source": self.source, "line": self.line, "image_path": self.image_path,
                "reason": self.reason, "message": self.message}


@dataclass(frozen=True)
class Candidate:
    """A record whose image is still to be read and normalised (in a worker)."""

    id: str
    source: str
    line: int | None
    image_path: str | None
    origin: tuple[str, ...]
    """("synthetic", index, keyway) | ("file", absolute path) | ("zip", zip path, entry name)."""
    keyway: str = ""
    bitting: tuple[int, ...] = ()
    brand: str = ""


_ZIPS: dict[tuple[int, str], zipfile.ZipFile] = {}
"""Open zips by (process id, path): a forked worker must not share its parent's file offsets."""


def read_origin(origin: tuple[str, ...]) -> bytes:
    """The bytes of a file or zip origin (zips stay open per process until close_zips)."""
    if origin[0] == "file":
        return Path(origin[1]).read_bytes()
    key = (os.getpid(), origin[1])
    if key not in _ZIPS:
        _ZIPS[key] = zipfile.ZipFile(origin[1])
    return _ZIPS[key].read(origin[2])


def close_zips() -> None:
    """Close the zips this process opened in read_origin."""
    for key in [k for k in _ZIPS if k[0] == os.getpid()]:
        _ZIPS.pop(key).close()


def _parse_row(raw: bytes) -> dict[str, Any]:
    """The JSON object of one JSONL line; raises RefusedInputError when it is not UTF-8, not JSON or not an object."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise RefusedInputError("invalid_utf8", f"not UTF-8 at byte {exc.start}: {exc.reason}") from exc
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RefusedInputError("invalid_json", f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
    except (RecursionError, ValueError) as exc:  # nesting past the parser's depth, an integer of thousands of digits
        raise RefusedInputError("invalid_json", f"not JSON keylike can read: {type(exc).__name__}: {str(exc)[:120]}") from exc
    if not isinstance(row, dict):
        raise RefusedInputError("not_an_object", f"a record is a JSON object, got {type(row).__name__}")
    return row


def _check_fields(row: dict[str, Any]) -> None:
    """Raise RefusedInputError when the row lacks a field or holds a value the manifest cannot represent."""
    missing = [f for f in REQUIRED_FIELDS if f not in row]
    if missing:
        raise RefusedInputError("missing_field", f"missing {', '.join(missing)} (a record needs {', '.join(REQUIRED_FIELDS)})")
    for name in ("image_path", "keyway", "brand"):
        if not isinstance(row[name], str):
            raise RefusedInputError("bad_field_type", f"{name} must be a string, got {json.dumps(row[name])[:80]}")
        try:
            row[name].encode("utf-8")
        except UnicodeEncodeError as exc:  # JSON's \ud800 escapes decode to lone surrogates, which no file holds
            message = f"{name} is not valid Unicode text (lone surrogate at {exc.start})"
            raise RefusedInputError("bad_field_type", message) from exc
    bittings = row["bittings"]
    if not isinstance(bittings, list) or any(isinstance(d, bool) or not isinstance(d, int) for d in bittings):
        raise RefusedInputError("bad_field_type", f"bittings must be a list of integers, got {json.dumps(bittings)[:80]}")


@dataclass
class UserDataset:
    """A user data set opened for reading: its name, where its files are, and what it holds."""

    name: str
    path: Path
    labels: bytes
    zip_names: dict[str, zipfile.ZipInfo] | None = None
    prefix: str = ""
    unsafe_entries: list[str] = field(default_factory=list)


def _open_folder(key: str, path: Path) -> UserDataset:
    labels = path / LABELS_NAME
    if not labels.is_file():
        found = sorted(path.glob("*.jsonl"))
        if len(found) != 1:
            raise ConfigError(f"{key} {path}: no {LABELS_NAME} (a Keylike data set holds {LABELS_NAME} and its images)")
        labels = found[0]
    if not lies_within(labels, path):
        raise ConfigError(f"{key} {labels}: the JSONL is a link that leaves the data set")
    if labels.stat().st_size > _MAX_LABELS_BYTES:
        raise ConfigError(f"{key} {labels}: over {_MAX_LABELS_BYTES} bytes; split the data set")
    return UserDataset(path.name, path, labels.read_bytes())


def _open_zip(key: str, path: Path) -> UserDataset:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename: info for info in infos}
            unsafe = [n for n in names if safe_relative(n.rstrip("/")) is None]
            jsonl = [n for n in names if n not in unsafe and n.endswith(".jsonl") and n.count("/") <= 1]
            preferred = [n for n in jsonl if posixpath.basename(n) == LABELS_NAME]
            chosen = preferred if len(preferred) == 1 else jsonl
            if len(chosen) != 1:
                raise ConfigError(f"{key} {path}: no single {LABELS_NAME} at the top of the zip (found {jsonl})")
            if names[chosen[0]].file_size > _MAX_LABELS_BYTES:
                raise ConfigError(f"{key} {path}: {chosen[0]} is over {_MAX_LABELS_BYTES} bytes")
            labels = archive.read(chosen[0])
    except READ_ERRORS as exc:
        raise ConfigError(f"{key} {path}: not a readable zip file ({type(exc).__name__}: {exc})") from exc
    prefix = posixpath.dirname(chosen[0])
    return UserDataset(path.stem, path, labels, names, f"{prefix}/" if prefix else "", unsafe)


def open_dataset(entry: str, position: int, raw_dir: Path) -> UserDataset:
    """Open user data set `entry` (a folder or .zip under `raw_dir`); ConfigError if it cannot be opened."""
    key = f"ingest.user_datasets[{position}]"
    path = Path(entry)
    if not path.exists():
        raise ConfigError(f"{key} {entry}: not found (paths are relative to the repository root, under {raw_dir})")
    if not lies_within(path, raw_dir):
        raise ConfigError(f"{key} {entry}: outside {raw_dir}; put user data sets under {raw_dir} so dvc tracks them")
    if path.is_dir():
        return _open_folder(key, path)
    if path.suffix.lower() == ".zip":
        return _open_zip(key, path)
    raise ConfigError(f"{key} {entry}: not a folder or a .zip")


def _locate(dataset: UserDataset, relative: str, max_bytes: int) -> tuple[str, ...]:
    """Where the image of a record lives (an origin for read_origin); raises RefusedInputError."""
    if dataset.zip_names is not None:
        name = dataset.prefix + relative
        info = dataset.zip_names.get(name)
        if info is None or info.is_dir():
            raise RefusedInputError("missing_image", f"{name} is not in {dataset.path.name}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise RefusedInputError("unsafe_symlink", f"{name} is a symbolic link inside the zip; links are not followed")
        if info.file_size > max_bytes:
            raise RefusedInputError("file_too_large", f"{info.file_size} bytes, over max_file_mb")
        return ("zip", str(dataset.path.resolve()), name)
    candidate = dataset.path / relative
    real = Path(os.path.realpath(candidate))
    if not lies_within(real, dataset.path):
        raise RefusedInputError("unsafe_symlink", f"{relative} links to {real}, outside the data set")
    try:
        found = real.is_file()
        size = real.stat().st_size if found else 0
    except OSError as exc:  # a name too long for the file system, a loop of links, ...
        raise RefusedInputError("missing_image", f"{relative[:120]} cannot be looked up: {exc.strerror or exc}") from exc
    if not found:
        raise RefusedInputError("missing_image", f"{relative} is not a file in {dataset.path}")
    if size > max_bytes:
        raise RefusedInputError("file_too_large", f"{size} bytes, over max_file_mb")
    return ("file", str(real))


def _line_item(dataset: UserDataset, number: int, raw: bytes, max_bytes: int) -> Candidate | QuarantineEntry:
    """The candidate of one JSONL line, or its quarantine entry."""
    record_id = f"{dataset.name}-L{number}"
    image_path = None
    try:
        row = _parse_row(raw)
        image_path = row["image_path"] if isinstance(row.get("image_path"), str) else None
        _check_fields(row)
        relative = safe_relative(row["image_path"])
        if relative is None:
            raise RefusedInputError("unsafe_path", "image_path is absolute or climbs out of the data set")
        origin = _locate(dataset, relative, max_bytes)
    except RefusedInputError as exc:
        return QuarantineEntry(dataset.name, number, image_path, exc.reason, exc.message, record_id)
    return Candidate(record_id, dataset.name, number, image_path, origin, row["keyway"], tuple(row["bittings"]),
                      row["brand"])


def dataset_items(dataset: UserDataset, max_bytes: int) -> tuple[list[Candidate | QuarantineEntry], int]:
    """One candidate or quarantine entry per non-blank line (and per unsafe zip entry), and the blank-line count."""
    items: list[Candidate | QuarantineEntry] = [
        QuarantineEntry(dataset.name, None, name, ZIP_SLIP,
                        "zip entry name is absolute or climbs out of the archive; never extracted")
        for name in dataset.unsafe_entries
    ]
    lines = dataset.labels.splitlines()
    items += [_line_item(dataset, number, raw, max_bytes) for number, raw in enumerate(lines, start=1) if raw.strip()]
    return items, sum(not raw.strip() for raw in lines)
