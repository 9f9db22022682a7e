"""Admission of a user data set before DVC sees it (`keylike add-data`): no links, no special files, no
path that leaves the data set, in a folder or a zip.

Why before DVC: `dvc add` follows a link and stores the file it points to, wherever that is, in
`.dvc/cache` (with keylike's hardlink cache it hard-links it there and makes it read-only), and a
`dvc push` uploads it; ingest then sees a regular file. So a data set is checked entry by entry first:
- **folder**: every entry is a regular file or a folder. Refused: `link` (a symbolic link, wherever it
  points), `special_file` (FIFO, socket, device), `hard_link` (a file with another name on the disk,
  which may lie outside the data set; allowed when that other name is DVC's own cache copy of it, as
  after an earlier `dvc add`), `unsafe_name` (a name that is not UTF-8 text or holds a control character).
- **zip**: every entry's name stays inside the archive and the entry is a file or a folder. Refused:
  `zip_slip` (absolute, `..`, a drive or a backslash), `link`, `special_file`, `unreadable_zip`.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from keylike.errors import ConfigError, UnsafeDatasetError

SHOWN_PROBLEMS = 10
"""How many problems the refusal names (all are counted)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError, zlib.error,
               struct.error)
"""What reading a file or zip entry raises: I/O errors, a bad CRC, an encrypted entry (RuntimeError), an
unsupported compression method or zip version (NotImplementedError), a name that is not UTF-8 (ValueError),
a broken deflate stream (zlib.error), a short header (struct.error)."""


def safe_relative(path: str) -> str | None:
    """The normalised relative POSIX path, or None if it is absolute or climbs out of its root."""
    if not path or "\x00" in path or "\\" in path:
        return None
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return None
    normal = posixpath.normpath(path)
    if normal in (".", "..") or normal.startswith("../"):
        return None
    return normal


def lies_within(path: Path | str, root: Path | str) -> bool:
    """Whether `path` lies inside `root`, links in both followed."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


@dataclass(frozen=True)
class Problem:
    """One entry of a data set that may not enter DVC, and why."""

    path: str
    """Relative to the data set (or the zip entry's name)."""
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind} ({self.detail})"


def _entries(root: Path) -> Iterator[tuple[str, os.stat_result, str]]:
    """(relative name, lstat, absolute path) of every entry under `root`; links are listed, never followed."""
    folders = [root]
    while folders:
        with os.scandir(folders.pop()) as found:
            for entry in sorted(found, key=lambda e: e.name):
                info = entry.stat(follow_symlinks=False)
                yield os.path.relpath(entry.path, root), info, entry.path
                if stat.S_ISDIR(info.st_mode):
                    folders.append(Path(entry.path))


def _in_cache(path: str, cache_dir: Path | None) -> bool:
    """Whether `path` is the same file as DVC's cache copy of its contents (DVC 3 layout: files/md5/ab/cdef...)."""
    if cache_dir is None:
        return False
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "md5").hexdigest()
    cached = cache_dir / "files" / "md5" / digest[:2] / digest[2:]
    return cached.exists() and os.path.samefile(path, cached)


def _name_problem(name: str) -> str | None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "the name is not UTF-8 text"
    return "the name holds a control character" if _CONTROL.search(name) else None


def _entry_problem(name: str, info: os.stat_result, path: str, cache_dir: Path | None) -> Problem | None:
    shown = os.fsencode(name).decode("utf-8", "backslashreplace")
    if stat.S_ISLNK(info.st_mode):
        return Problem(shown, "link", f"points to {os.readlink(path)}; put the file itself there")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        return Problem(shown, "special_file", "not a regular file or folder (FIFO, socket or device); remove it")
    problem = _name_problem(name)
    if problem:
        return Problem(shown, "unsafe_name", f"{problem}; rename it")
    if stat.S_ISREG(info.st_mode) and info.st_nlink > 1 and not _in_cache(path, cache_dir):
        return Problem(shown, "hard_link", f"{info.st_nlink} names on the disk, maybe outside the data set; "
                                           "replace it by a copy (cp FILE tmp && mv tmp FILE)")
    return None


def check_folder(root: Path, cache_dir: Path | None = None) -> list[Problem]:
    """Every problem of the folder data set at `root` (see the module doc)."""
    found = (_entry_problem(name, info, path, cache_dir) for name, info, path in _entries(root))
    return [problem for problem in found if problem is not None]


def check_zip(path: Path) -> list[Problem]:
    """Every problem of the zip data set at `path` (see the module doc)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except READ_ERRORS as exc:
        return [Problem(path.name, "unreadable_zip", f"{type(exc).__name__}: {exc}")]
    problems = []
    for info in infos:
        mode = info.external_attr >> 16
        if safe_relative(info.filename.rstrip("/")) is None:
            problems.append(Problem(info.filename, "zip_slip", "the name is absolute or climbs out of the archive"))
        elif stat.S_ISLNK(mode):
            problems.append(Problem(info.filename, "link", "a symbolic link inside the zip; put the file itself there"))
        elif stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            problems.append(Problem(info.filename, "special_file", "not a regular file or folder"))
    return problems


def check_dataset(path: Path, raw_dir: Path, cache_dir: Path | None = None) -> None:
    """Refuse (UnsafeDatasetError, naming each problem) a data set that may not enter DVC; ConfigError when
    `path` is not a folder or zip under `raw_dir`."""
    if not os.path.lexists(path):
        raise ConfigError(f"{path}: not found; put the data set under {raw_dir}")
    if not lies_within(path, raw_dir) or ".." in path.parts:
        raise ConfigError(f"{path}: outside {raw_dir}; copy the data set under {raw_dir} first")
    root = _entry_problem(path.name, path.lstat(), str(path), cache_dir)
    if root is not None:
        problems = [root]
    elif path.is_dir():
        problems = check_folder(path, cache_dir)
    elif path.suffix.lower() == ".zip":
        problems = check_zip(path)
    else:
        raise ConfigError(f"{path}: not a folder or a .zip (a Keylike data set is one of the two)")
    if problems:
        shown = "; ".join(map(str, problems[:SHOWN_PROBLEMS]))
        more = f"; and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
        raise UnsafeDatasetError(f"{path}: {len(problems)} unsafe entries, nothing added to DVC: {shown}{more}")
