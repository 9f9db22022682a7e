"""Ingest: take in synthetic keys and user data sets, write one normalised data set and its manifest.

Sources, in this order: the synthetic generator (`synthetic_count` photos rendered in memory),
then each user data set in `user_datasets`: a folder or a `.zip` in the Keylike data set format,
`labels.jsonl` (one `{"image_path": "images/key_001.jpg", "bittings": [1,2,5,3,7], "keyway": "SC1",
"brand": "Schlage"}` per line) beside the images it names. Every image is re-encoded by
keylike.data.images (the rules serving shares: EXIF orientation applied, first frame, bit depth scaled,
transparency over white, longest side at most `max_image_side`, JPEG q95, metadata dropped); it is
stored as `images/<sha256>.jpg` and listed in `manifest.jsonl`.

What ingest quarantines, and what it passes on (the boundary):
- **Quarantined** (a line in `quarantine.jsonl` with source, line, image_path, reason, message):
  what ingest cannot take in, or cannot take in safely. Reasons: `invalid_utf8`, `invalid_json`,
  `not_an_object`, `missing_field`, `bad_field_type` (image_path not a string, bittings not a list
  of integers, keyway or brand not a string: the record cannot be represented), `unsafe_path`
  (absolute, or climbs out of the data set), `zip_slip` (a zip entry whose name does that, listed
  whether or not a record names it), `unsafe_symlink` (a link that leaves the data set folder; any
  link inside a zip), `missing_image`, `unreadable_file`, `file_too_large`, `decompression_bomb`
  (over `max_pixels`), `not_an_image`, `truncated_image`, `corrupt_image`, `unsupported_mode`.
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
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keylike.config import base_seed, check, config_from_block
from keylike.data.admission import READ_ERRORS
from keylike.data.images import normalise_image
from keylike.data.ingest_report import IngestSummary, write_ingest_contact_sheet
from keylike.data.manifest import MANIFEST_NAME, QUARANTINE_NAME, SYNTHETIC_SOURCE, ManifestRecord, write_manifest
from keylike.data.rendering import RenderSettings
from keylike.data.synthesis import check_keyway_mix, parallel_map, plan_keyways, synthesize_key, with_no_key_share
from keylike.data.user_datasets import Candidate, QuarantineEntry, close_zips, dataset_items, open_dataset, read_origin
from keylike.errors import ConfigError, RefusedInputError
from keylike.io import atomic_directory, write_jsonl


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
class _Worker:
    """Reads (or renders), normalises and writes one candidate; runs in a pool process."""

    images_dir: str
    config: IngestConfig

    def __call__(self, item: Candidate | QuarantineEntry) -> ManifestRecord | QuarantineEntry:
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
                    data = read_origin(item.origin)
                except READ_ERRORS as exc:
                    raise RefusedInputError("unreadable_file", f"cannot read the file: {exc}") from exc
            image = normalise_image(data, self.config.max_image_side, self.config.max_pixels)
        except RefusedInputError as exc:
            return QuarantineEntry(item.source, item.line, item.image_path, exc.reason, exc.message, item.id)
        digest = hashlib.sha256(image.jpeg).hexdigest()
        name = f"images/{digest}.jpg"
        target = Path(self.images_dir) / f"{digest}.jpg"
        if not target.exists():
            tmp = target.with_name(f".{digest}.{os.getpid()}.tmp")
            tmp.write_bytes(image.jpeg)
            os.replace(tmp, target)
        return ManifestRecord(item.id, name, digest, image.width, image.height, item.source, keyway, bitting, brand)


def _synthetic_items(config: IngestConfig) -> list[Candidate]:
    plan = plan_keyways(config.synthetic_count, with_no_key_share(config.keyway_mix, config.no_key_share), config.seed)
    return [Candidate(f"{SYNTHETIC_SOURCE}-{i:06d}", SYNTHETIC_SOURCE, None, None, ("synthetic", str(i), code))
            for i, code in enumerate(plan)]


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
    duplicate = sorted({n for n in names if names.count(n) > 1} | ({SYNTHETIC_SOURCE} & set(names)))
    if duplicate:
        raise ConfigError(f"ingest.user_datasets: data set names must be unique and not {SYNTHETIC_SOURCE!r}, "
                          f"got {duplicate}")
    max_bytes = int(config.max_file_mb * 2**20)
    items: list[Candidate | QuarantineEntry] = list(_synthetic_items(config))
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
            close_zips()
        records = [r for r in results if isinstance(r, ManifestRecord)]
        quarantine = [r for r in results if isinstance(r, QuarantineEntry)]
        write_manifest(tmp / MANIFEST_NAME, records)
        write_jsonl(tmp / QUARANTINE_NAME, (q.to_json() for q in quarantine))
    if contact_sheet is not None:
        write_ingest_contact_sheet(out_dir, contact_sheet)
    sources = ([SYNTHETIC_SOURCE] if config.synthetic_count else []) + names
    return IngestSummary(records, quarantine, sources, blank)
