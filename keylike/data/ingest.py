"""Ingest: take in synthetic keys and user data sets, write one normalised data set and its manifest.

Sources, in this order: the synthetic generator (`synthetic_count` photos rendered in memory),
then each user data set in `user_datasets`: a folder or a `.zip` in the Keylike data set format,
`labels.jsonl` (one `{"image_path": "images/key_001.jpg", "bittings": [1,2,5,3,7], "keyway": "SC1",
"brand": "Schlage"}` per line) beside the images it names. Every image is re-encoded: EXIF
orientation applied, RGB (transparency over white), longest side at most `max_image_side`, JPEG
q95, metadata dropped; it is stored as `images/<sha256>.jpg` and listed in `manifest.jsonl`.

What ingest quarantines, and what it passes on (the boundary):
- **Quarantined** (a line in `quarantine.jsonl` with source, line, image_path, reason, message):
  what ingest cannot take in, or cannot take in safely. Reasons: `invalid_utf8`, `invalid_json`,
  `not_an_object`, `missing_field`, `bad_field_type` (image_path not a string, bittings not a list
  of integers, keyway or brand not a string: the record cannot be represented), `unsafe_path`
  (absolute, or climbs out of the data set), `zip_slip` (a zip entry whose name does that, listed
  whether or not a record names it), `unsafe_symlink` (a link that leaves the data set folder; any
  link inside a zip), `missing_image`, `unreadable_file`, `file_too_large`, `decompression_bomb`
  (over `max_pixels`), `not_an_image`, `truncated_image`, `corrupt_image`.
- **Passed on** to the manifest unchanged, for the validate stage to flag: records that parse and
  whose image is sound but whose labels are wrong: an unknown keyway, a brand that does not make
  the keyway, a bitting of the wrong length, out of range or over the MACS, duplicate images.
- **Refused** (ConfigError, nothing written): a data set that cannot be opened at all: a path that
  does not exist or lies outside the raw folder, not a folder or zip, a broken zip, no JSONL.
Blank lines are not records; they are counted in the metrics (`blank_lines`). Links are followed only
inside the data set folder, so DVC's default checkouts (copies or reflinks) ingest as they are, and a
`symlink` cache type would not (its links point into .dvc/cache).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import re
import stat
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from keylike.config import base_seed, check, config_from_block
from keylike.data.manifest import MANIFEST_NAME, QUARANTINE_NAME, ManifestRecord, read_manifest, write_manifest
from keylike.data.rendering import RenderSettings
from keylike.data.synthesis import (
    LABELS_NAME,
    check_keyway_mix,
    parallel_map,
    plan_keyways,
    synthesize_key,
    with_no_key_share,
    write_contact_sheet,
)
from keylike.errors import ConfigError
from keylike.io import atomic_directory, write_jsonl
from keylike.keys import keyway_codes

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
"""Image formats ingest decodes; anything else is quarantined as `not_an_image`."""
REQUIRED_FIELDS = ("image_path", "bittings", "keyway", "brand")
JPEG_QUALITY = 95
_MAX_LABELS_BYTES = 256 * 2**20
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, TypeError, IndexError, KeyError, ZeroDivisionError)
"""What Pillow's decoders raise on malformed input (UnidentifiedImageError is an OSError)."""
_READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, RuntimeError, NotImplementedError)
"""What reading a file or zip entry raises: I/O errors, a bad CRC, an encrypted entry (RuntimeError),
an unsupported compression method (NotImplementedError)."""


@dataclass(frozen=True)
class IngestConfig:
    """The `ingest` params block (plus `base.seed`)."""

    seed: int
    """Seed of the synthetic generator (base.seed)."""
    synthetic_count: int
    """How many synthetic photos to render (0 = none)."""
    keyway_mix: dict[str, float]
    """Relative weight of each keyway among the synthetic photos."""
    image_size: int
    """Side of the synthetic photos in pixels (768 for production)."""
    user_datasets: tuple[str, ...]
    """User data sets (folders or .zip files in the Keylike format), relative to the repo root, under data/raw."""
    max_image_side: int
    """Longest side of a normalised image; larger images are scaled down."""
    max_pixels: int
    """Images with more pixels than this are refused as decompression bombs."""
    max_file_mb: float
    """Image files larger than this (MiB) are refused before decoding."""
    render: RenderSettings
    """Photographic variation of the synthetic photos (`ingest.render`)."""
    no_key_share: float = 0.0
    """Share of the synthetic photos that show no key (answered `NO KEY`)."""

    def __post_init__(self) -> None:
        check(self.synthetic_count >= 0, "ingest.synthetic_count", f"must be >= 0, got {self.synthetic_count}")
        check(isinstance(self.keyway_mix, dict), "ingest.keyway_mix", "must map keyway codes to weights")
        check_keyway_mix(self.keyway_mix)
        object.__setattr__(self, "keyway_mix", {k: float(v) for k, v in self.keyway_mix.items()})
        check(32 <= self.image_size <= 4096, "ingest.image_size", f"must be in [32, 4096], got {self.image_size}")
        check(self.max_image_side >= 32, "ingest.max_image_side", f"must be >= 32, got {self.max_image_side}")
        check(self.max_pixels >= 1024, "ingest.max_pixels", f"must be >= 1024, got {self.max_pixels}")
        check(self.max_file_mb > 0, "ingest.max_file_mb", f"must be > 0, got {self.max_file_mb}")
        check(all(isinstance(p, str) and p for p in self.user_datasets), "ingest.user_datasets",
              f"must be a list of paths, got {list(self.user_datasets)}")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> IngestConfig:
        """Build from params.yaml: the `ingest` block, its `render` sub-block, and `base.seed`."""
        if "ingest" not in params:
            raise ConfigError("params has no `ingest` block")
        block = dict(params["ingest"] or {})
        if "render" not in block:
            raise ConfigError("params has no `ingest.render` block (the synthetic photos' variation)")
        render = config_from_block(RenderSettings, {"ingest.render": block.pop("render")}, "ingest.render")
        return config_from_block(cls, {"ingest": block}, "ingest", seed=base_seed(params), render=render)


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
class IngestSummary:
    """What came in, what went out and what was quarantined (the stage's metrics)."""

    records: list[ManifestRecord]
    quarantine: list[QuarantineEntry]
    sources: list[str]
    blank_lines: int

    def to_json(self) -> dict[str, Any]:
        """Counts in / out / quarantined, by reason and by source."""
        by_source = {}
        for source in self.sources:
            out = sum(r.source == source for r in self.records)
            bad = Counter(q.reason for q in self.quarantine if q.source == source)
            by_source[source] = {"in": out + sum(bad.values()), "out": out, "quarantined": sum(bad.values()),
                                 "quarantined_by_reason": dict(sorted(bad.items()))}
        reasons = Counter(q.reason for q in self.quarantine)
        return {
            "records_in": len(self.records) + len(self.quarantine),
            "records_out": len(self.records),
            "quarantined": len(self.quarantine),
            "quarantined_by_reason": dict(sorted(reasons.items())),
            "by_source": by_source,
            "images_written": len({r.image for r in self.records}),
            "blank_lines": self.blank_lines,
        }


class _Rejected(Exception):
    """An input ingest cannot take in: becomes a quarantine entry."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class NormalisedImage:
    """A re-encoded image: JPEG bytes and size."""

    jpeg: bytes
    width: int
    height: int


def _decode_reason(exc: Exception) -> str:
    truncated = isinstance(exc, EOFError) or "truncated" in str(exc).lower()
    return "truncated_image" if truncated else "corrupt_image"


def normalise_image(data: bytes, max_side: int, max_pixels: int) -> NormalisedImage:
    """Decode untrusted image bytes safely and re-encode them (see module doc); raises _Rejected."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise _Rejected("decompression_bomb", str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise _Rejected("not_an_image", f"not a {'/'.join(ACCEPTED_FORMATS)} image") from exc
    except _DECODE_ERRORS as exc:
        raise _Rejected(_decode_reason(exc), f"cannot read the image header: {exc}") from exc
    width, height = image.size
    if width * height > max_pixels:
        message = f"{width}x{height} = {width * height} pixels, over max_pixels {max_pixels}"
        raise _Rejected("decompression_bomb", message)
    if image.format == "JPEG":
        image.draft("RGB", (max_side, max_side))
    try:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            image = Image.new("RGB", rgba.size, (255, 255, 255))
            image.paste(rgba, mask=rgba.getchannel("A"))
        if image.mode != "RGB":
            image = image.convert("RGB")
    except _DECODE_ERRORS as exc:
        raise _Rejected(_decode_reason(exc), f"cannot decode the image: {exc}") from exc
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return NormalisedImage(buffer.getvalue(), image.width, image.height)


@dataclass(frozen=True)
class _Candidate:
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


def _read_origin(origin: tuple[str, ...]) -> bytes:
    if origin[0] == "file":
        return Path(origin[1]).read_bytes()
    key = (os.getpid(), origin[1])
    if key not in _ZIPS:
        _ZIPS[key] = zipfile.ZipFile(origin[1])
    return _ZIPS[key].read(origin[2])


def _close_zips() -> None:
    for key in [k for k in _ZIPS if k[0] == os.getpid()]:
        _ZIPS.pop(key).close()


@dataclass(frozen=True)
class _Worker:
    """Reads (or renders), normalises and writes one candidate; runs in a pool process."""

    images_dir: str
    config: IngestConfig

    def __call__(self, item: _Candidate | QuarantineEntry) -> ManifestRecord | QuarantineEntry:
        if isinstance(item, QuarantineEntry):
            return item
        keyway, bitting, brand = item.keyway, item.bitting, item.brand
        try:
            if item.origin[0] == "synthetic":
                key = synthesize_key(self.config.seed, int(item.origin[1]), item.origin[2], self.config.render,
                                     self.config.image_size)
                data = key.rendered.jpeg_bytes()
                keyway, bitting, brand = key.label.keyway, key.label.bitting, key.label.brand
            else:
                try:
                    data = _read_origin(item.origin)
                except _READ_ERRORS as exc:
                    raise _Rejected("unreadable_file", f"cannot read the file: {exc}") from exc
            image = normalise_image(data, self.config.max_image_side, self.config.max_pixels)
        except _Rejected as exc:
            return QuarantineEntry(item.source, item.line, item.image_path, exc.reason, exc.message, item.id)
        digest = hashlib.sha256(image.jpeg).hexdigest()
        name = f"images/{digest}.jpg"
        target = Path(self.images_dir) / f"{digest}.jpg"
        if not target.exists():
            tmp = target.with_name(f".{digest}.{os.getpid()}.tmp")
            tmp.write_bytes(image.jpeg)
            os.replace(tmp, target)
        return ManifestRecord(item.id, name, digest, image.width, image.height, item.source, keyway, bitting, brand)


def _safe_relative(image_path: str) -> str | None:
    """The normalised relative POSIX path, or None if it is absolute or climbs out of its root."""
    if not image_path or "\x00" in image_path or "\\" in image_path:
        return None
    if image_path.startswith("/") or re.match(r"^[A-Za-z]:", image_path):
        return None
    normal = posixpath.normpath(image_path)
    if normal in (".", "..") or normal.startswith("../"):
        return None
    return normal


def _parse_row(raw: bytes) -> dict[str, Any]:
    """The JSON object of one JSONL line; raises _Rejected when it is not UTF-8, not JSON or not an object."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise _Rejected("invalid_utf8", f"not UTF-8 at byte {exc.start}: {exc.reason}") from exc
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Rejected("invalid_json", f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
    except (RecursionError, ValueError) as exc:  # nesting past the parser's depth, an integer of thousands of digits
        raise _Rejected("invalid_json", f"not JSON keylike can read: {type(exc).__name__}: {str(exc)[:120]}") from exc
    if not isinstance(row, dict):
        raise _Rejected("not_an_object", f"a record is a JSON object, got {type(row).__name__}")
    return row


def _check_fields(row: dict[str, Any]) -> None:
    """Raise _Rejected when the row lacks a field or holds a value the manifest cannot represent."""
    missing = [f for f in REQUIRED_FIELDS if f not in row]
    if missing:
        raise _Rejected("missing_field", f"missing {', '.join(missing)} (a record needs {', '.join(REQUIRED_FIELDS)})")
    for name in ("image_path", "keyway", "brand"):
        if not isinstance(row[name], str):
            raise _Rejected("bad_field_type", f"{name} must be a string, got {json.dumps(row[name])[:80]}")
    bittings = row["bittings"]
    if not isinstance(bittings, list) or any(isinstance(d, bool) or not isinstance(d, int) for d in bittings):
        raise _Rejected("bad_field_type", f"bittings must be a list of integers, got {json.dumps(bittings)[:80]}")


@dataclass
class _Dataset:
    """A user data set opened for reading: its name, where its files are, and what it holds."""

    name: str
    path: Path
    labels: bytes
    zip_names: dict[str, zipfile.ZipInfo] | None = None
    prefix: str = ""
    unsafe_entries: list[str] = field(default_factory=list)


def _open_folder(key: str, path: Path) -> _Dataset:
    labels = path / LABELS_NAME
    if not labels.is_file():
        found = sorted(path.glob("*.jsonl"))
        if len(found) != 1:
            raise ConfigError(f"{key} {path}: no {LABELS_NAME} (a Keylike data set holds {LABELS_NAME} and its images)")
        labels = found[0]
    if not Path(os.path.realpath(labels)).is_relative_to(os.path.realpath(path)):
        raise ConfigError(f"{key} {labels}: the JSONL is a link that leaves the data set")
    if labels.stat().st_size > _MAX_LABELS_BYTES:
        raise ConfigError(f"{key} {labels}: over {_MAX_LABELS_BYTES} bytes; split the data set")
    return _Dataset(path.name, path, labels.read_bytes())


def _open_zip(key: str, path: Path) -> _Dataset:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename: info for info in infos}
            unsafe = [n for n in names if _safe_relative(n.rstrip("/")) is None]
            jsonl = [n for n in names if n not in unsafe and n.endswith(".jsonl") and n.count("/") <= 1]
            preferred = [n for n in jsonl if posixpath.basename(n) == LABELS_NAME]
            chosen = preferred if len(preferred) == 1 else jsonl
            if len(chosen) != 1:
                raise ConfigError(f"{key} {path}: no single {LABELS_NAME} at the top of the zip (found {jsonl})")
            if names[chosen[0]].file_size > _MAX_LABELS_BYTES:
                raise ConfigError(f"{key} {path}: {chosen[0]} is over {_MAX_LABELS_BYTES} bytes")
            labels = archive.read(chosen[0])
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigError(f"{key} {path}: not a readable zip file ({exc})") from exc
    prefix = posixpath.dirname(chosen[0])
    return _Dataset(path.stem, path, labels, names, f"{prefix}/" if prefix else "", unsafe)


def open_dataset(entry: str, position: int, raw_dir: Path) -> _Dataset:
    """Open user data set `entry` (a folder or .zip under `raw_dir`); ConfigError if it cannot be opened."""
    key = f"ingest.user_datasets[{position}]"
    path = Path(entry)
    if not path.exists():
        raise ConfigError(f"{key} {entry}: not found (paths are relative to the repository root, under {raw_dir})")
    if not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(raw_dir)):
        raise ConfigError(f"{key} {entry}: outside {raw_dir}; put user data sets under {raw_dir} so dvc tracks them")
    if path.is_dir():
        return _open_folder(key, path)
    if path.suffix.lower() == ".zip":
        return _open_zip(key, path)
    raise ConfigError(f"{key} {entry}: not a folder or a .zip")


def _locate(dataset: _Dataset, relative: str, max_bytes: int) -> tuple[str, ...]:
    """Where the image of a record lives (an origin for _read_origin); raises _Rejected."""
    if dataset.zip_names is not None:
        name = dataset.prefix + relative
        info = dataset.zip_names.get(name)
        if info is None or info.is_dir():
            raise _Rejected("missing_image", f"{name} is not in {dataset.path.name}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _Rejected("unsafe_symlink", f"{name} is a symbolic link inside the zip; links are not followed")
        if info.file_size > max_bytes:
            raise _Rejected("file_too_large", f"{info.file_size} bytes, over max_file_mb")
        return ("zip", str(dataset.path.resolve()), name)
    candidate = dataset.path / relative
    real = Path(os.path.realpath(candidate))
    if not real.is_relative_to(os.path.realpath(dataset.path)):
        raise _Rejected("unsafe_symlink", f"{relative} links to {real}, outside the data set")
    if not real.is_file():
        raise _Rejected("missing_image", f"{relative} is not a file in {dataset.path}")
    size = real.stat().st_size
    if size > max_bytes:
        raise _Rejected("file_too_large", f"{size} bytes, over max_file_mb")
    return ("file", str(real))


def _line_item(dataset: _Dataset, number: int, raw: bytes, max_bytes: int) -> _Candidate | QuarantineEntry:
    """The candidate of one JSONL line, or its quarantine entry."""
    record_id = f"{dataset.name}-L{number}"
    image_path = None
    try:
        row = _parse_row(raw)
        image_path = row["image_path"] if isinstance(row.get("image_path"), str) else None
        _check_fields(row)
        relative = _safe_relative(row["image_path"])
        if relative is None:
            raise _Rejected("unsafe_path", "image_path is absolute or climbs out of the data set")
        origin = _locate(dataset, relative, max_bytes)
    except _Rejected as exc:
        return QuarantineEntry(dataset.name, number, image_path, exc.reason, exc.message, record_id)
    return _Candidate(record_id, dataset.name, number, image_path, origin, row["keyway"], tuple(row["bittings"]),
                      row["brand"])


def dataset_items(dataset: _Dataset, max_bytes: int) -> tuple[list[_Candidate | QuarantineEntry], int]:
    """One candidate or quarantine entry per non-blank line (and per unsafe zip entry), and the blank-line count."""
    items: list[_Candidate | QuarantineEntry] = [
        QuarantineEntry(dataset.name, None, name, "zip_slip",
                        "zip entry name is absolute or climbs out of the archive; never extracted")
        for name in dataset.unsafe_entries
    ]
    lines = dataset.labels.splitlines()
    items += [_line_item(dataset, number, raw, max_bytes) for number, raw in enumerate(lines, start=1) if raw.strip()]
    return items, sum(not raw.strip() for raw in lines)


def _synthetic_items(config: IngestConfig) -> list[_Candidate]:
    plan = plan_keyways(config.synthetic_count, with_no_key_share(config.keyway_mix, config.no_key_share), config.seed)
    return [_Candidate(f"synthetic-{i:06d}", "synthetic", None, None, ("synthetic", str(i), code))
            for i, code in enumerate(plan)]


def _sheet_records(records: list[ManifestRecord], per_keyway: int) -> list[ManifestRecord]:
    """Up to `per_keyway` records of each keyway, known keyways first in table order."""
    order = {code: i for i, code in enumerate(keyway_codes())}
    chosen: dict[str, list[ManifestRecord]] = {}
    for record in records:
        group = chosen.setdefault(record.keyway, [])
        if len(group) < per_keyway:
            group.append(record)
    keyways = sorted(chosen, key=lambda k: (order.get(k, len(order)), k))
    return [r for k in keyways for r in chosen[k]]


def write_ingest_contact_sheet(data_dir: Path | str, path: Path | str, per_keyway: int = 6) -> None:
    """A contact sheet of an ingested data set: one row per keyway, labels under each image."""
    data_dir = Path(data_dir)
    records = _sheet_records(read_manifest(data_dir / MANIFEST_NAME), per_keyway)
    write_contact_sheet(path, ((Image.open(data_dir / r.image), r.label) for r in records), columns=per_keyway)


def ingest(
    config: IngestConfig,
    raw_dir: Path | str,
    out_dir: Path | str,
    contact_sheet: Path | str | None = None,
    workers: int | None = None,
) -> IngestSummary:
    """Write the normalised data set (images/, manifest.jsonl, quarantine.jsonl) to `out_dir`, atomically."""
    datasets = [open_dataset(entry, i, Path(raw_dir)) for i, entry in enumerate(config.user_datasets)]
    names = [d.name for d in datasets]
    duplicate = sorted({n for n in names if names.count(n) > 1} | ({"synthetic"} & set(names)))
    if duplicate:
        raise ConfigError(f"ingest.user_datasets: data set names must be unique and not 'synthetic', got {duplicate}")
    max_bytes = int(config.max_file_mb * 2**20)
    items: list[_Candidate | QuarantineEntry] = list(_synthetic_items(config))
    blank = 0
    for dataset in datasets:
        dataset_part, dataset_blank = dataset_items(dataset, max_bytes)
        items += dataset_part
        blank += dataset_blank
    with atomic_directory(out_dir) as tmp:
        (tmp / "images").mkdir()
        try:
            results = list(parallel_map(_Worker(str(tmp / "images"), config), items, workers, "ingest"))
        finally:
            _close_zips()
        records = [r for r in results if isinstance(r, ManifestRecord)]
        quarantine = [r for r in results if isinstance(r, QuarantineEntry)]
        write_manifest(tmp / MANIFEST_NAME, records)
        write_jsonl(tmp / QUARANTINE_NAME, (q.to_json() for q in quarantine))
    if contact_sheet is not None:
        write_ingest_contact_sheet(out_dir, contact_sheet)
    sources = (["synthetic"] if config.synthetic_count else []) + names
    return IngestSummary(records, quarantine, sources, blank)
