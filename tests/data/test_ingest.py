"""Ingest: every bad-input kind becomes a quarantine entry with its reason; label problems pass through;
images are normalised; output is deterministic and written atomically."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from keylike.config import load_params
from keylike.data.ingest import IngestConfig, ingest
from keylike.data.manifest import read_manifest
from keylike.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
GOOD = {"bittings": [1, 2, 5, 3, 7], "keyway": "SC1", "brand": "Schlage"}


def _config(**overrides) -> IngestConfig:
    params = load_params(REPO / "params.yaml")
    params["ingest"].update({"synthetic_count": 0, "image_size": 64, "max_image_side": 256,
                             "max_pixels": 1_000_000, "max_file_mb": 1})
    params["ingest"].update(overrides)
    return IngestConfig.from_params(params)


def _jpeg(size: tuple[int, int] = (40, 30), colour: tuple[int, int, int] = (200, 120, 40), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG", **save)
    return buffer.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares a huge size in its header and holds no pixels: a decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def _line(image_path: str, **fields) -> bytes:
    return json.dumps({"image_path": image_path, **GOOD, **fields}).encode()


def _noisy_jpeg(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def folder_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[int, str | None]]:
    """data/raw/mykeys with one line per input kind; returns the raw dir and {line: expected reason or None}."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "data" / "raw" / "mykeys"
    images = root / "images"
    images.mkdir(parents=True)
    (tmp_path / "secret.jpg").write_bytes(_jpeg())
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    files = {
        "good.jpg": _jpeg(),
        "alpha.png": None,
        "rotated.jpg": _jpeg((40, 20), exif=exif.tobytes()),
        "big.jpg": _jpeg((600, 200)),
        "text.jpg": b"this is not an image\n",
        "truncated.jpg": _noisy_jpeg((64, 64))[:900],
        "bomb.png": _png_header(2000, 1000),
        "huge_file.jpg": os.urandom(2 * 2**20),
        "corrupt.png": None,
    }
    for name, data in files.items():
        if data is not None:
            (images / name).write_bytes(data)
    Image.new("RGBA", (30, 30), (255, 0, 0, 0)).save(images / "alpha.png")
    png = io.BytesIO()
    Image.effect_noise((64, 64), 60).convert("RGB").save(png, format="PNG")
    broken = bytearray(png.getvalue())
    broken[100:160] = b"\x00" * 60
    (images / "corrupt.png").write_bytes(bytes(broken))
    (images / "link_out.jpg").symlink_to(tmp_path / "secret.jpg")
    (images / "link_in.jpg").symlink_to(images / "good.jpg")
    lines: list[tuple[bytes, str | None]] = [
        (_line("images/good.jpg"), None),
        (_line("images/alpha.png"), None),
        (_line("images/rotated.jpg"), None),
        (_line("images/big.jpg"), None),
        (_line("images/good.jpg", bittings=[0, 9, 0, 9, 0]), None),  # MACS violation: passed on
        (_line("images/good.jpg", keyway="ZZ9", brand="Nobody"), None),  # unknown keyway: passed on
        (_line("images/../images/good.jpg", bittings=[1, 2, 3]), None),  # wrong length: passed on
        (_line("images/link_in.jpg"), None),
        (b'{"image_path": "images/good.jpg", "bittings": [1,2', "invalid_json"),
        (b'{"image_path": "images/good.jpg", "keyway": "SC1\xff\xfe"}', "invalid_utf8"),
        (b'["images/good.jpg", [1, 2, 5, 3, 7], "SC1"]', "not_an_object"),
        (b"[" * 100_000, "invalid_json"),  # nesting past the parser's depth (RecursionError)
        (b'{"image_path": "images/good.jpg", "bittings": [' + b"9" * 5000 + b'], "keyway": "SC1", "brand": "Schlage"}',
         "invalid_json"),  # an integer past Python's digit limit (ValueError)
        (_line("images/good.jpg", keyway="NONE", bittings=[], brand=""), None),  # a photo with no key: passed on
        (json.dumps({"image_path": "images/good.jpg", "bittings": [1, 2, 5, 3, 7]}).encode(), "missing_field"),
        (_line("images/good.jpg", bittings="1,2,5,3,7"), "bad_field_type"),
        (_line("images/good.jpg", bittings=[1, 2.5, 5, 3, 7]), "bad_field_type"),
        (_line("images/good.jpg", keyway=1), "bad_field_type"),
        (_line(str(tmp_path / "secret.jpg")), "unsafe_path"),
        (_line("../../../secret.jpg"), "unsafe_path"),
        (_line("images/../../../../secret.jpg"), "unsafe_path"),
        (_line("C:/keys/secret.jpg"), "unsafe_path"),
        (_line("images\\good.jpg"), "unsafe_path"),
        (_line("images/link_out.jpg"), "unsafe_symlink"),
        (_line("images/nope.jpg"), "missing_image"),
        (_line("images"), "missing_image"),
        (_line("images/text.jpg"), "not_an_image"),
        (_line("images/truncated.jpg"), "truncated_image"),
        (_line("images/bomb.png"), "decompression_bomb"),
        (_line("images/huge_file.jpg"), "file_too_large"),
        (_line("images/corrupt.png"), "corrupt_image"),
    ]
    body = b""
    expected = {}
    for number, (line, reason) in enumerate(lines, start=1):
        body += line + b"\n"
        expected[number] = reason
    (root / "labels.jsonl").write_bytes(body + b"\n")  # a trailing blank line
    return tmp_path / "data" / "raw", expected


def test_every_bad_input_kind_is_quarantined_with_its_reason(folder_dataset, tmp_path: Path) -> None:
    raw, expected = folder_dataset
    summary = ingest(_config(user_datasets=["data/raw/mykeys"]), raw, tmp_path / "out", workers=1)
    quarantine = [json.loads(line) for line in (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()]
    got = {q["line"]: q["reason"] for q in quarantine}
    assert got == {line: reason for line, reason in expected.items() if reason}
    for entry in quarantine:
        assert entry["source"] == "mykeys" and entry["id"] == f"mykeys-L{entry['line']}" and entry["message"]
    records = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert [r.id for r in records] == [f"mykeys-L{n}" for n, reason in expected.items() if reason is None]
    metrics = summary.to_json()
    assert metrics["records_in"] == len(expected) == metrics["records_out"] + metrics["quarantined"]
    assert metrics["quarantined_by_reason"]["unsafe_path"] == 5
    assert metrics["by_source"]["mykeys"]["quarantined"] == metrics["quarantined"]
    assert metrics["blank_lines"] == 1


def test_label_problems_pass_through_unchanged(folder_dataset, tmp_path: Path) -> None:
    raw, _ = folder_dataset
    ingest(_config(user_datasets=["data/raw/mykeys"]), raw, tmp_path / "out", workers=1)
    by_id = {r.id: r for r in read_manifest(tmp_path / "out" / "manifest.jsonl")}
    assert by_id["mykeys-L5"].bitting == (0, 9, 0, 9, 0)
    assert (by_id["mykeys-L6"].keyway, by_id["mykeys-L6"].brand) == ("ZZ9", "Nobody")
    assert by_id["mykeys-L7"].bitting == (1, 2, 3)
    assert by_id["mykeys-L1"].image == by_id["mykeys-L5"].image == by_id["mykeys-L8"].image


def test_images_are_normalised(folder_dataset, tmp_path: Path) -> None:
    raw, _ = folder_dataset
    out = tmp_path / "out"
    ingest(_config(user_datasets=["data/raw/mykeys"]), raw, out, workers=1)
    by_id = {r.id: r for r in read_manifest(out / "manifest.jsonl")}
    for record in by_id.values():
        data = (out / record.image).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record.sha256
        assert record.image == f"images/{record.sha256}.jpg"
        with Image.open(out / record.image) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert image.size == (record.width, record.height)
            assert not image.getexif()
    assert (by_id["mykeys-L3"].width, by_id["mykeys-L3"].height) == (20, 40)  # EXIF rotation applied
    assert (by_id["mykeys-L4"].width, by_id["mykeys-L4"].height) == (256, 85)  # longest side bounded
    with Image.open(out / by_id["mykeys-L2"].image) as image:
        assert min(image.getpixel((15, 15))) > 240  # transparency over white, not black


def _zip_dataset(path: Path, prefix: str = "") -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(prefix + "images/key_001.jpg", _jpeg())
        archive.writestr(prefix + "images/key_002.jpg", _jpeg(colour=(10, 10, 200)))
        archive.writestr("../evil.jpg", _jpeg())
        archive.writestr("/abs/evil.jpg", _jpeg())
        link = zipfile.ZipInfo(prefix + "images/link.jpg")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        labels = [_line("images/key_001.jpg"), _line("images/key_002.jpg", keyway="KW1", brand="Kwikset",
                  bittings=[1, 2, 3, 4, 5]), _line("../evil.jpg"), _line("images/link.jpg"), _line("images/none.jpg"),
                  b"\xff\xfe not utf-8"]
        archive.writestr(prefix + "labels.jsonl", b"\n".join(labels) + b"\n")


@pytest.mark.parametrize("prefix", ["", "mykeys_2025/"])
def test_zip_dataset_with_zip_slip_and_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "raw").mkdir(parents=True)
    _zip_dataset(tmp_path / "data" / "raw" / "phone.zip", prefix)
    out = tmp_path / "out"
    summary = ingest(_config(user_datasets=["data/raw/phone.zip"]), tmp_path / "data" / "raw", out, workers=2)
    assert [(r.id, r.keyway) for r in summary.records] == [("phone-L1", "SC1"), ("phone-L2", "KW1")]
    quarantine = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
    assert [(q["line"], q["image_path"], q["reason"]) for q in quarantine] == [
        (None, "../evil.jpg", "zip_slip"),
        (None, "/abs/evil.jpg", "zip_slip"),
        (3, "../evil.jpg", "unsafe_path"),
        (4, "images/link.jpg", "unsafe_symlink"),
        (5, "images/none.jpg", "missing_image"),
        (6, None, "invalid_utf8"),
    ]
    assert not (tmp_path / "evil.jpg").exists() and not (tmp_path.parent / "evil.jpg").exists()
    counts = summary.to_json()
    assert (counts["records_in"], counts["quarantined"], counts["zip_slip_entries"]) == (6, 4, 2)
    assert "zip_slip" not in counts["quarantined_by_reason"]


def test_synthetic_source_is_deterministic_across_worker_counts(tmp_path: Path) -> None:
    config = _config(synthetic_count=10)
    one = ingest(config, tmp_path, tmp_path / "one", workers=1)
    two = ingest(config, tmp_path, tmp_path / "two", workers=2)
    assert one.records == two.records
    assert [r.id for r in one.records] == [f"synthetic-{i:06d}" for i in range(10)]
    for record in one.records:
        assert (tmp_path / "one" / record.image).read_bytes() == (tmp_path / "two" / record.image).read_bytes()
        assert (record.width, record.height, record.source) == (64, 64, "synthetic")
    assert one.to_json()["by_source"] == {"synthetic": {"in": 10, "out": 10, "quarantined": 0,
                                                        "quarantined_by_reason": {}}}


def test_output_is_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old run")
    ingest(_config(synthetic_count=2), tmp_path, out, workers=1)
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in out.iterdir()) == ["images", "manifest.jsonl", "quarantine.jsonl"]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError):
        ingest(_config(synthetic_count=2, user_datasets=["data/raw/missing"]), tmp_path / "data" / "raw", out)
    assert (out / "manifest.jsonl").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_contact_sheet_is_written(tmp_path: Path) -> None:
    ingest(_config(synthetic_count=6), tmp_path, tmp_path / "out", contact_sheet=tmp_path / "plots" / "sheet.png",
           workers=1)
    with Image.open(tmp_path / "plots" / "sheet.png") as sheet:
        assert sheet.format == "PNG" and sheet.height >= 160


def test_contact_sheet_shows_a_user_data_sets_photo_beside_many_synthetic_ones(tmp_path: Path, monkeypatch) -> None:
    import numpy as np

    monkeypatch.chdir(tmp_path)
    root = tmp_path / "data" / "raw" / "phone"
    (root / "images").mkdir(parents=True)
    (root / "images" / "k.jpg").write_bytes(_jpeg((60, 60), (255, 0, 255), quality=100))
    (root / "labels.jsonl").write_bytes(_line("images/k.jpg") + b"\n")
    config = _config(synthetic_count=80, user_datasets=["data/raw/phone"])
    summary = ingest(config, tmp_path / "data" / "raw", tmp_path / "out", contact_sheet=tmp_path / "sheet.png", workers=1)
    assert sum(r.keyway == "SC1" and r.source == "synthetic" for r in summary.records) > 6  # more than a row holds
    with Image.open(tmp_path / "sheet.png") as sheet:
        pixels = np.asarray(sheet.convert("RGB")).astype(int)
    assert (np.abs(pixels - (255, 0, 255)).max(axis=2) < 30).sum() > 1000  # the photo itself
    captions = np.concatenate([pixels[top + 190:top + 209] for top in range(0, pixels.shape[0], 209)])  # 160 px + 49
    assert (captions[..., 2] - captions[..., 0] > 80).any()  # a source written in blue: a user data set's name


@pytest.mark.parametrize(
    ("setup", "entry", "message"),
    [
        (lambda raw: None, "data/raw/missing", "ingest.user_datasets[0] data/raw/missing: not found"),
        (lambda raw: (raw.parent / "elsewhere").mkdir(), "data/elsewhere", "outside data/raw"),
        (lambda raw: (raw / "empty").mkdir(), "data/raw/empty", "no labels.jsonl"),
        (lambda raw: (raw / "broken.zip").write_bytes(b"PK not really"), "data/raw/broken.zip", "not a readable zip"),
        (lambda raw: (raw / "notes.txt").write_text("x"), "data/raw/notes.txt", "not a folder or a .zip"),
    ],
)
def test_a_dataset_that_cannot_be_opened_is_a_config_error(tmp_path, monkeypatch, setup, entry, message) -> None:
    monkeypatch.chdir(tmp_path)
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    setup(raw)
    with pytest.raises(ConfigError) as info:
        ingest(_config(user_datasets=[entry]), Path("data/raw"), tmp_path / "out", workers=1)
    assert message in str(info.value)
    assert not (tmp_path / "out").exists()


def test_duplicate_dataset_names_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for folder in ("a/keys", "b/keys"):
        (tmp_path / "data" / "raw" / folder).mkdir(parents=True)
        (tmp_path / "data" / "raw" / folder / "labels.jsonl").write_text("")
    with pytest.raises(ConfigError, match=r"data set names must be unique.*\['keys'\]"):
        ingest(_config(user_datasets=["data/raw/a/keys", "data/raw/b/keys"]), Path("data/raw"), tmp_path / "o")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"keyway_mix": {"SC1": 1, "XX": 1}}, "ingest.keyway_mix has unknown keyways ['XX']"),
        ({"keyway_mix": ["SC1"]}, "ingest.keyway_mix must be a mapping (key: value), got ['SC1']"),
        ({"image_size": 16}, "ingest.image_size must be in [32, 4096], got 16"),
        ({"synthetic_count": -1}, "ingest.synthetic_count must be >= 0, got -1"),
        ({"max_file_mb": 0}, "ingest.max_file_mb must be > 0, got 0"),
        ({"render": {"blur": 1}}, "unknown key(s) in `ingest.render`: blur"),
    ],
)
def test_config_errors_name_the_key(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _config(**overrides)
    assert message in str(info.value)


def test_committed_params_build_the_config() -> None:
    config = IngestConfig.from_params(load_params(REPO / "params.yaml"))
    assert config.seed == load_params(REPO / "params.yaml")["base"]["seed"]
    assert config.render.backgrounds and replace(config, synthetic_count=0).synthetic_count == 0


def test_a_zip_entry_with_a_bad_crc_is_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    photo = _jpeg()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("images/a.jpg", photo)
        archive.writestr("labels.jsonl", _line("images/a.jpg") + b"\n")
    data = bytearray(buffer.getvalue())
    start = data.index(photo)
    data[start + 100:start + 110] = bytes(10)  # same size, other bytes: the CRC no longer matches
    (raw / "crc.zip").write_bytes(bytes(data))
    summary = ingest(_config(user_datasets=["data/raw/crc.zip"]), raw, tmp_path / "out", workers=1)
    assert [(q.line, q.reason) for q in summary.quarantine] == [(1, "unreadable_file")]
    assert "CRC" in summary.quarantine[0].message


# --- Fuzzing the JSONL reader and the zip reader: every input is a record or a named quarantine entry ------------

QUARANTINE_REASONS = {"invalid_utf8", "invalid_json", "not_an_object", "missing_field", "bad_field_type", "unsafe_path",
                      "zip_slip", "unsafe_symlink", "missing_image", "unreadable_file", "file_too_large",
                      "decompression_bomb", "not_an_image", "truncated_image", "corrupt_image", "unsupported_mode"}
ZIP_FIXTURES = Path(__file__).parent / "fixtures" / "zips"
"""Zips the fuzzer below found to crash ingest before it named them (reading errors outside OSError)."""
_TEXT = st.text(max_size=12) | st.sampled_from(
    ["images/good.jpg", "images/../images/good.jpg", "../good.jpg", "/etc/passwd", "images/\ud800.jpg", "a" * 300,
     "/".join(["b" * 250] * 20), "images\x00.jpg", "SC1", "Schlage"])
_VALUE = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3), max_leaves=6)
_ROW = st.fixed_dictionaries({}, optional={"image_path": _TEXT | _VALUE, "bittings": st.lists(st.integers(0, 9)) | _VALUE,
                                           "keyway": _TEXT | _VALUE, "brand": _TEXT | _VALUE})
_LINE = st.one_of(_ROW.map(lambda row: json.dumps(row).encode()), _VALUE.map(lambda v: json.dumps(v).encode()),
                  st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" ").replace(b"\r", b" ")))


def _ingest_folder(root: Path, lines: list[bytes]):
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "images" / "good.jpg").write_bytes(_jpeg())
    (root / "labels.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return ingest(_config(user_datasets=[str(root)]), root.parent, root.parent / "out", workers=1)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_LINE, min_size=1, max_size=6))
def test_fuzzed_jsonl_lines_each_become_a_record_or_a_named_quarantine_entry(tmp_path: Path, lines: list[bytes]) -> None:
    counts = _ingest_folder(tmp_path / "raw" / "fuzz", lines).to_json()
    assert counts["records_in"] == sum(bool(line.strip()) for line in lines)
    assert set(counts["quarantined_by_reason"]) <= QUARANTINE_REASONS


def _zip_of_two_records() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("labels.jsonl", _line("images/0.jpg") + b"\n" + _line("images/1.jpg") + b"\n")
        archive.writestr("images/0.jpg", _jpeg())
        archive.writestr("images/1.jpg", _jpeg(), compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _ingest_zip_or_config_error(path: Path) -> dict | None:
    """Ingest's counts for the zip at `path`, or None when it refuses the zip as a whole (by name)."""
    try:
        counts = ingest(_config(user_datasets=[str(path)]), path.parent, path.parent / "out", workers=1).to_json()
    except ConfigError as exc:
        assert str(path) in str(exc) and "zip" in str(exc)
        return None
    assert counts["records_in"] == counts["records_out"] + counts["quarantined"]
    assert set(counts["quarantined_by_reason"]) <= QUARANTINE_REASONS
    return counts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_zips_are_refused_by_name_or_read_record_by_record(tmp_path: Path, data) -> None:
    mutated = bytearray(_zip_of_two_records())
    for _ in range(data.draw(st.integers(1, 6))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    (tmp_path / "raw").mkdir(exist_ok=True)
    (tmp_path / "raw" / "fuzz.zip").write_bytes(bytes(mutated))
    _ingest_zip_or_config_error(tmp_path / "raw" / "fuzz.zip")


@pytest.mark.parametrize("name", sorted(p.name for p in ZIP_FIXTURES.glob("*.zip")))
def test_zips_the_fuzzer_found_are_refused_by_name(tmp_path: Path, name: str) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / name).write_bytes((ZIP_FIXTURES / name).read_bytes())
    counts = _ingest_zip_or_config_error(tmp_path / "raw" / name)
    assert counts is None or counts["quarantined"] >= 1


@pytest.mark.parametrize("name", sorted(p.name for p in (Path(__file__).parent / "fixtures" / "jsonl").glob("*.jsonl")))
def test_jsonl_lines_found_by_fuzzing_are_quarantined_by_name(tmp_path: Path, name: str) -> None:
    """Each fixture is one line named `<reason>-<what>.jsonl`; the first four once crashed ingest."""
    line = (Path(__file__).parent / "fixtures" / "jsonl" / name).read_bytes().strip()
    summary = _ingest_folder(tmp_path / "raw" / "fuzz", [line])
    assert [q.reason for q in summary.quarantine] == [name.split("-")[0]] and not summary.records
