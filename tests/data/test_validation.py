"""The validate stage's suite on tiny data sets: a clean one passes, and each bad-data case fails with
exactly the expectations it should, named in the message with the record, its file and the reason."""

from __future__ import annotations

import dataclasses
import hashlib
import html
import io
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keylike.data.manifest import MANIFEST_NAME, QUARANTINE_NAME, ManifestRecord, write_manifest
from keylike.data.validation import ValidateConfig, run_validation, validate_dataset
from keylike.data.validation_report import SUMMARY_OFFENDERS
from keylike.errors import ConfigError, ValidationFailedError
from keylike.io import read_metrics
from keylike.keys import get_spec, sample_bitting

KEYWAYS = ("SC1", "KW1", "Y1")
PER_KEYWAY = 4
CONFIG = ValidateConfig(
    min_records_per_keyway=3, max_class_ratio=3.0, max_quarantined_share=0.25,
    min_image_side=32, max_image_side=1024, image_modes=("RGB",),
)


def _png(size: tuple[int, int], shade: int, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    color = shade if mode == "L" else (shade, 255 - shade, 90)
    Image.new(mode, size, color).save(buffer, "PNG")
    return buffer.getvalue()


class Dataset:
    """A tiny ingested data set in tmp_path: distinct 48x40 PNGs, valid labels, an empty quarantine."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "images").mkdir(parents=True)
        rng = np.random.default_rng(5)
        self.records: list[ManifestRecord] = []
        self.extra_lines: list[str] = []
        self.quarantined = 0
        for keyway in KEYWAYS:
            for _ in range(PER_KEYWAY):
                self.add(keyway, sample_bitting(get_spec(keyway), rng))

    def image(self, data: bytes) -> tuple[str, str]:
        """Store `data` as an image file; return (relative path, sha256)."""
        digest = hashlib.sha256(data).hexdigest()
        (self.root / "images" / f"{digest}.png").write_bytes(data)
        return f"images/{digest}.png", digest

    def add(self, keyway: str, bitting: tuple, size: tuple[int, int] = (48, 40), mode: str = "RGB") -> ManifestRecord:
        """Append a record with a fresh image."""
        n = len(self.records)
        path, digest = self.image(_png(size, (n * 19) % 256, mode))
        record = ManifestRecord(f"synthetic-{n:06d}", path, digest, size[0], size[1], "synthetic", keyway, bitting,
                                get_spec(keyway).brand if keyway in KEYWAYS else "Schlage")
        self.records.append(record)
        return record

    def change(self, index: int, **fields) -> ManifestRecord:
        """Replace fields of record `index`."""
        self.records[index] = dataclasses.replace(self.records[index], **fields)
        return self.records[index]

    def write(self) -> Path:
        write_manifest(self.root / MANIFEST_NAME, self.records)
        if self.extra_lines:
            with open(self.root / MANIFEST_NAME, "a", encoding="utf-8") as handle:
                handle.writelines(line + "\n" for line in self.extra_lines)
        lines = [json.dumps({"line": i, "reason": "not an image"}) + "\n" for i in range(self.quarantined)]
        (self.root / QUARANTINE_NAME).write_text("".join(lines))
        return self.root


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    return Dataset(tmp_path / "ingested")


def _replace_file(ds: Dataset, index: int, data: bytes) -> None:
    """Overwrite record `index`'s file with `data` and point the manifest's sha256 at it."""
    (ds.root / ds.records[index].image).write_bytes(data)
    ds.change(index, sha256=hashlib.sha256(data).hexdigest())


def _not_an_image(ds: Dataset) -> None:
    _replace_file(ds, 1, b"this is a text file, not a PNG\n")


def _truncated(ds: Dataset) -> None:
    _replace_file(ds, 1, _png((48, 40), 3)[:60])


def _missing_file(ds: Dataset) -> None:
    (ds.root / ds.records[1].image).unlink()


def _outside_path(ds: Dataset) -> None:
    shutil.copy(ds.root / ds.records[1].image, ds.root.parent / "outside.png")
    ds.change(1, image="../outside.png")


def _duplicate_image_other_label(ds: Dataset) -> None:
    first = ds.records[0]
    ds.records.append(dataclasses.replace(first, id="synthetic-000900", bitting=(2, 2, 2, 2, 2)))


def _too_few(ds: Dataset) -> None:
    del ds.records[-2:]  # Y1 keeps 2 of 4


def _too_few_from_user(ds: Dataset) -> None:
    del ds.records[-2:]  # Y1 keeps 2 of 4, both from a user data set
    for index in (-1, -2):
        ds.change(len(ds.records) + index, source="mykeys")


def _imbalanced(ds: Dataset) -> None:
    rng = np.random.default_rng(9)
    for _ in range(9):
        ds.add("SC1", sample_bitting(get_spec("SC1"), rng))  # SC1 13 vs 4: 3.25x, the 9 extra from a user data set
        ds.change(len(ds.records) - 1, source="mykeys")


def _quarantined(ds: Dataset) -> None:
    ds.quarantined = 5  # 5 of 17 input records, 29% > 25%


def _schema_missing_brand(ds: Dataset) -> None:
    row = ds.records.pop(1).to_json()
    del row["brand"]
    ds.extra_lines.append(json.dumps(row))


def _mixed(ds: Dataset) -> None:
    ds.change(0, bitting=(0, 8, 2, 3, 4))
    ds.change(5, keyway="ZZ9")
    _duplicate_image_other_label(ds)
    ds.quarantined = 6


# (case id, mutation, the exact expectations that fail, a fragment of the message, the offending record id)
CASES: list[tuple[str, Callable[[Dataset], object], set[str], str, str]] = [
    ("schema_missing_field", _schema_missing_brand, {"record_schema"}, "missing fields ['brand']", "line 12"),
    ("schema_not_json", lambda ds: ds.extra_lines.append("{not json"), {"record_schema"}, "not valid UTF-8 JSON",
     "line 13"),
    ("duplicate_id", lambda ds: ds.change(3, id="synthetic-000002"), {"id_unique"},
     "id 'synthetic-000002' is used by more than one record", "synthetic-000002"),
    ("not_an_image", _not_an_image, {"image_decodes"}, "does not decode", "synthetic-000001"),
    ("truncated_image", _truncated, {"image_decodes"}, "does not decode", "synthetic-000001"),
    ("missing_file", _missing_file, {"image_decodes"}, "cannot read the image file", "synthetic-000001"),
    ("path_leaves_dataset", _outside_path, {"image_decodes"}, "'../outside.png' leaves the data set",
     "synthetic-000001"),
    ("hash_mismatch", lambda ds: ds.change(2, sha256="0" * 64), {"image_hash_matches"},
     "is not the manifest's 000000000000", "synthetic-000002"),
    ("too_narrow", lambda ds: ds.add("KW1", (1, 2, 3, 4, 5), size=(16, 40)), {"image_width_in_bounds"},
     "width 16 px is outside 32-1024", "synthetic-000012"),
    ("too_tall", lambda ds: ds.add("KW1", (1, 2, 3, 4, 5), size=(40, 1100)), {"image_height_in_bounds"},
     "height 1100 px is outside 32-1024", "synthetic-000012"),
    ("size_differs_from_manifest", lambda ds: ds.change(4, width=50), {"image_size_matches_manifest"},
     "decoded size 48x40 is not the manifest's 50x40", "synthetic-000004"),
    ("grayscale", lambda ds: ds.add("Y1", (1, 2, 3, 4, 5), mode="L"), {"image_mode_allowed"},
     "mode L is not one of RGB", "synthetic-000012"),
    ("unknown_keyway", lambda ds: ds.change(5, keyway="ZZ9"), {"keyway_known", "answer_round_trips"},
     "keyway 'ZZ9' is not one of SC1", "synthetic-000005"),
    ("brand_mismatch", lambda ds: ds.change(0, brand="Kwikset"), {"brand_matches_keyway", "answer_round_trips"},
     "brand 'Kwikset' does not make SC1 (Schlage does)", "synthetic-000000"),
    ("short_bitting", lambda ds: ds.change(0, bitting=(1, 2, 3, 4)), {"bitting_length_matches", "answer_round_trips"},
     "bitting 1,2,3,4 has 4 cuts, SC1 has 5", "synthetic-000000"),
    ("depth_over_range", lambda ds: ds.change(4, bitting=(1, 2, 3, 4, 8)), {"depths_in_range", "answer_round_trips"},
     "cut 5 depth 8 exceeds spec max 7", "synthetic-000004"),
    ("depth_not_integer", lambda ds: ds.change(4, bitting=(1, 2.5, 3, 4, 5)),
     {"depths_in_range", "answer_round_trips"}, "cut 2 depth 2.5 is not an integer", "synthetic-000004"),
    ("macs_violated", lambda ds: ds.change(0, bitting=(0, 8, 2, 3, 4)), {"macs_respected", "answer_round_trips"},
     "cuts 1-2 differ by 8, over the MACS of 7", "synthetic-000000"),
    ("two_digit_depth_breaks_target", lambda ds: ds.change(9, bitting=(1, 10, 3, 4, 5)),
     {"depths_in_range", "answer_round_trips"}, "the training target does not parse back", "synthetic-000009"),
    ("same_image_two_labels", _duplicate_image_other_label, {"same_image_same_label"},
     "labelled SC1 2,2,2,2,2 Schlage", "synthetic-000000"),
    ("too_few_per_keyway", _too_few, {"min_records_per_keyway"},
     "keyway Y1 has 2 records (2 from synthetic), fewer than min_records_per_keyway 3; fix: raise "
     "ingest.synthetic_count or the keyway's weight in ingest.keyway_mix", "synthetic-000008"),
    ("too_few_from_a_user_data_set", _too_few_from_user, {"min_records_per_keyway"},
     "keyway Y1 has 2 records (2 from mykeys), fewer than min_records_per_keyway 3; fix: add 1 or more photos "
     "of Y1 to data set mykeys, or remove its Y1 photos, or lower validate.min_records_per_keyway", "synthetic-000008"),
    ("class_imbalance", _imbalanced, {"class_balance"},
     "keyway SC1 has 13 records (9 from mykeys, 4 from synthetic), 3.25x the smallest keyway (KW1, 4), over "
     "max_class_ratio 3.0; fix: keep at most 12 photos of SC1 (cut them in data set mykeys (it brings 9))",
     "synthetic-000000"),
    ("quarantined_share", _quarantined, {"quarantined_share"},
     "ingest quarantined 5 records, 29.4% of its input, over max_quarantined_share 25.0%", ""),
    ("mixed", _mixed, {"macs_respected", "keyway_known", "answer_round_trips", "same_image_same_label",
                       "quarantined_share"}, "cuts 1-2 differ by 8", "synthetic-000900"),
]


def test_clean_dataset_passes(dataset: Dataset, tmp_path: Path) -> None:
    report = run_validation(CONFIG, dataset.write(), tmp_path / "docs", tmp_path / "validation.json")
    metrics = read_metrics(tmp_path / "validation.json")
    assert report.success and metrics["success"] is True
    assert metrics["records"] == len(KEYWAYS) * PER_KEYWAY and metrics["failed"] == [] and metrics["failed_expectations"] == 0
    assert all(e["success"] and e["offending"] == [] for e in metrics["expectations"].values())
    assert metrics["manifest_sha256"] == hashlib.sha256((dataset.root / MANIFEST_NAME).read_bytes()).hexdigest()
    assert (tmp_path / "docs" / "index.html").is_file() and Path(report.docs_page).is_file()


@pytest.mark.parametrize(("mutate", "expected", "fragment", "record"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_data_fails_the_named_expectations(
    dataset: Dataset, tmp_path: Path, mutate, expected: set[str], fragment: str, record: str
) -> None:
    mutate(dataset)
    with pytest.raises(ValidationFailedError) as failure:
        run_validation(CONFIG, dataset.write(), tmp_path / "docs", tmp_path / "validation.json")
    message = str(failure.value)
    metrics = read_metrics(tmp_path / "validation.json")
    assert set(metrics["failed"]) == expected
    for name in expected:
        assert f"\n  {name}: " in message
    assert fragment in message
    lines = [line for line in message.splitlines() if record in line]
    assert lines or not record, f"{record} not named in:\n{message}"
    assert metrics["success"] is False and (tmp_path / "docs" / "index.html").is_file()


def test_metrics_list_offending_records_with_file_and_reason(dataset: Dataset, tmp_path: Path) -> None:
    for index in (0, 1, 2, 3, 8, 9, 10):  # SC1 (MACS 7) records 0-3 and Y1 (MACS 9) records 8-10
        dataset.change(index, bitting=(0, 9, 0, 9, 0))
    report = validate_dataset(CONFIG, dataset.write(), tmp_path / "docs")
    macs = next(o for o in report.outcomes if o.name == "macs_respected")
    assert macs.unexpected_count == 4  # SC1 records 0-3; Y1 records 8-10 allow a step of 9
    assert [o.id for o in macs.offenders] == [f"synthetic-{i:06d}" for i in range(4)]
    assert macs.offenders[0].reason.startswith("cuts 1-2 differ by 9, over the MACS of 7")
    assert macs.offenders[0].image == dataset.records[0].image
    round_trip = next(o for o in report.outcomes if o.name == "answer_round_trips")
    assert round_trip.unexpected_count == 4


def test_summary_names_at_most_five_records(dataset: Dataset, tmp_path: Path) -> None:
    for index in range(8):
        dataset.change(index, brand="Yale")
    report = validate_dataset(CONFIG, dataset.write(), tmp_path / "docs")
    lines = report.summary().splitlines()
    start = next(i for i, line in enumerate(lines) if "brand_matches_keyway" in line)
    block = lines[start:start + SUMMARY_OFFENDERS + 1]
    assert block[0].startswith("  brand_matches_keyway: 8 records fail: synthetic-000000 (images/")
    assert [line.count("does not make") for line in block] == [1] * SUMMARY_OFFENDERS + [0]
    assert block[-1] == "      and 3 more"


def test_keyway_level_failures_list_one_record_per_keyway(dataset: Dataset, tmp_path: Path) -> None:
    config = dataclasses.replace(CONFIG, min_records_per_keyway=PER_KEYWAY + 1)
    report = validate_dataset(config, dataset.write(), tmp_path / "docs")
    outcome = next(o for o in report.outcomes if o.name == "min_records_per_keyway")
    assert outcome.unexpected_count == len(KEYWAYS) * PER_KEYWAY
    assert [o.reason.split(" has ")[0] for o in outcome.offenders] == [f"keyway {k}" for k in KEYWAYS]
    assert "min_records_per_keyway: 12 records of 3 keyways fail: synthetic-000000 (" in report.summary()


def test_empty_manifest_fails_records_present(dataset: Dataset, tmp_path: Path) -> None:
    dataset.records.clear()
    report = validate_dataset(CONFIG, dataset.write(), tmp_path / "docs")
    assert "records_present" in [o.name for o in report.failed]
    assert "the manifest holds no records" in report.summary()


def test_an_exception_inside_great_expectations_is_a_failure(
    dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keylike.data.expectations as expectations

    frame = expectations.frame
    monkeypatch.setattr(expectations, "frame", lambda rows, checks: frame(rows, checks).drop(columns=["macs_respected"]))
    report = validate_dataset(CONFIG, dataset.write(), tmp_path / "docs")
    macs = next(o for o in report.outcomes if o.name == "macs_respected")
    assert not macs.success and "macs_respected" in (macs.error or "")
    assert "macs_respected: could not be evaluated" in report.summary()
    assert [o.name for o in report.failed] == ["macs_respected"]


def test_missing_quarantine_file_says_to_run_ingest(dataset: Dataset, tmp_path: Path) -> None:
    (dataset.write() / QUARANTINE_NAME).unlink()
    with pytest.raises(Exception, match="quarantine.jsonl not found: run the ingest stage"):
        validate_dataset(CONFIG, dataset.root, tmp_path / "docs")


def test_docs_are_replaced_atomically(dataset: Dataset, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "stale.html").write_text("old run")
    validate_dataset(CONFIG, dataset.write(), docs)
    assert not (docs / "stale.html").exists() and (docs / "index.html").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".docs")] == []


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_class_ratio", 0.5, "validate.max_class_ratio must be >= 1, got 0.5"),
        ("max_quarantined_share", 1.5, "validate.max_quarantined_share must be in \\[0, 1\\], got 1.5"),
        ("max_image_side", 16, "validate.max_image_side must be >= validate.min_image_side \\(32\\), got 16"),
        ("image_modes", [], "validate.image_modes must name at least one PIL mode"),
    ],
)
def test_config_range_checks_name_the_key(key: str, value, message: str) -> None:
    block = {**dataclasses.asdict(CONFIG), key: value}
    with pytest.raises(ConfigError, match=message):
        ValidateConfig.from_params({"validate": block})


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_failing_data_docs_page_renders_the_failed_expectations(dataset: Dataset, tmp_path: Path) -> None:
    """Headless Chromium prints the Data Docs page of a failing set (DOM and a screenshot, offline)."""
    _mixed(dataset)
    report = validate_dataset(CONFIG, dataset.write(), tmp_path / "docs")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = Path(report.docs_page).resolve().as_uri()
    dom = html.unescape(
        subprocess.run([CHROMIUM, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    )
    for outcome in report.outcomes:
        assert f"{outcome.name}: {outcome.rule}" in dom
    assert dom.count("fas fa-times text-danger") == len(report.failed) + 1  # each failure, plus the page status
    shot = tmp_path / "docs.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1400,1800", url],
                   capture_output=True, timeout=120, check=True)
    with Image.open(shot) as image:
        assert image.size == (1400, 1800)
