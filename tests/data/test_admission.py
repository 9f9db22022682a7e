"""keylike.data.admission: a data set with links, special files, hard links to other files, odd names or
zip entries that leave the archive is refused, each entry named; a clean one passes."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from keylike.data.admission import check_dataset, check_folder, check_zip, lies_within
from keylike.errors import ConfigError, UnsafeDatasetError


def _clean(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels.jsonl").write_text('{"image_path": "images/a.jpg"}\n')
    (root / "images" / "a.jpg").write_bytes(b"jpeg")
    return root


def test_a_clean_folder_has_no_problem(tmp_path: Path) -> None:
    assert check_folder(_clean(tmp_path / "raw" / "keys")) == []
    check_dataset(tmp_path / "raw" / "keys", tmp_path / "raw")


def test_lies_within_follows_links(tmp_path: Path) -> None:
    root = _clean(tmp_path / "raw" / "keys")
    (tmp_path / "outside.jpg").write_bytes(b"jpeg")
    (root / "images" / "out.jpg").symlink_to(tmp_path / "outside.jpg")
    (tmp_path / "alias").symlink_to(root)
    assert lies_within(root / "images" / "a.jpg", root) and lies_within(tmp_path / "alias" / "labels.jsonl", root)
    assert not lies_within(root / "images" / "out.jpg", root) and not lies_within(root / ".." / "x", root)


def test_every_unsafe_folder_entry_is_named(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    root = _clean(tmp_path / "raw" / "keys")
    (root / "images" / "link.jpg").symlink_to(outside)
    (root / "inner_link").symlink_to(root / "images")
    (root / "images" / "dir_link").symlink_to(tmp_path)
    os.link(outside, root / "images" / "hard.jpg")
    os.mkfifo(root / "images" / "fifo.jpg")
    (root / "images" / "new\nline.jpg").write_bytes(b"x")
    (root / os.fsdecode(b"bad\xff.jpg")).write_bytes(b"x")
    found = {(p.path, p.kind) for p in check_folder(root)}
    assert found == {("images/link.jpg", "link"), ("inner_link", "link"), ("images/dir_link", "link"),
                     ("images/hard.jpg", "hard_link"), ("images/fifo.jpg", "special_file"),
                     ("images/new\nline.jpg", "unsafe_name"), ("bad\\xff.jpg", "unsafe_name")}
    with pytest.raises(UnsafeDatasetError, match=r"keys: 7 unsafe entries, nothing added to DVC: .*link \(points to"):
        check_dataset(root, tmp_path / "raw")


def test_a_hard_link_into_the_dvc_cache_is_its_own_copy(tmp_path: Path) -> None:
    import hashlib

    root = _clean(tmp_path / "raw" / "keys")
    digest = hashlib.md5(b"jpeg").hexdigest()
    cached = tmp_path / "cache" / "files" / "md5" / digest[:2] / digest[2:]
    cached.parent.mkdir(parents=True)
    os.link(root / "images" / "a.jpg", cached)
    assert [p.kind for p in check_folder(root)] == ["hard_link"]
    assert check_folder(root, tmp_path / "cache") == []


def _zip(path: Path, entries: dict[str, int]) -> Path:
    """A zip whose entries have the given unix modes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, mode in entries.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, "/etc/passwd" if stat.S_ISLNK(mode) else "data")
    return path


def test_every_unsafe_zip_entry_is_named(tmp_path: Path) -> None:
    path = _zip(tmp_path / "raw" / "keys.zip", {
        "labels.jsonl": stat.S_IFREG | 0o644, "images/a.jpg": stat.S_IFREG | 0o644, "images/": stat.S_IFDIR | 0o755,
        "../evil.jpg": stat.S_IFREG | 0o644, "/abs.jpg": stat.S_IFREG | 0o644, "images\\win.jpg": 0,
        "images/link.jpg": stat.S_IFLNK | 0o777, "images/fifo": stat.S_IFIFO | 0o644, "plain_no_mode.jpg": 0})
    assert {(p.path, p.kind) for p in check_zip(path)} == {
        ("../evil.jpg", "zip_slip"), ("/abs.jpg", "zip_slip"), ("images\\win.jpg", "zip_slip"),
        ("images/link.jpg", "link"), ("images/fifo", "special_file")}
    with pytest.raises(UnsafeDatasetError, match="keys.zip: 5 unsafe entries"):
        check_dataset(path, tmp_path / "raw")


def test_a_broken_zip_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "keys.zip").write_bytes(b"PK\x03\x04 not really")
    assert [p.kind for p in check_zip(tmp_path / "raw" / "keys.zip")] == ["unreadable_zip"]


@pytest.mark.parametrize(("make", "message"), [
    (lambda root: root / "nope", "not found"),
    (lambda root: _clean(root.parent / "elsewhere"), "outside"),
    (lambda root: root / ".." / "raw" / "x", "not found"),
    (lambda root: (root / "keys.tar").write_bytes(b"") or root / "keys.tar", "not a folder or a .zip"),
])
def test_a_path_that_is_no_data_set_under_raw_is_a_config_error(tmp_path: Path, make, message: str) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    with pytest.raises(ConfigError, match=message):
        check_dataset(make(raw), raw)


def test_the_data_set_itself_being_a_link_is_refused(tmp_path: Path) -> None:
    real = _clean(tmp_path / "real")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "keys").symlink_to(real)
    with pytest.raises(ConfigError, match="outside"):
        check_dataset(tmp_path / "raw" / "keys", tmp_path / "raw")
