"""Atomic writes: a killed stage leaves the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


def _temp_path(path: Path) -> Path:
    """A new name beside `path` for its temp file or directory: created exclusively with the default
    modes (0o666, 0o777), so the process umask applies as to any new file."""
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write `data` to a temp file beside `path`, fsync it, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    """Atomically write UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path | str, obj: Any) -> None:
    """Atomically write `obj` as indented JSON with sorted keys (stable diffs)."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_jsonl(path: Path | str, rows: Iterable[dict[str, Any]]) -> None:
    """Atomically write one JSON object per line, keys sorted."""
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """Read a JSON-lines file written by `write_jsonl`."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@contextlib.contextmanager
def atomic_directory(path: Path | str) -> Iterator[Path]:
    """Yield a temp directory beside `path`; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path)
    tmp.mkdir()
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


DETAILS_FOLDER = "details"
"""Sub-folder beside a metrics file that holds the stage's detailed results (declared in dvc.yaml as an out)."""


def details_path(metrics_path: Path | str) -> Path:
    """Where the details of `metrics/<stage>.json` go: `metrics/details/<stage>.json`."""
    metrics_path = Path(metrics_path)
    return metrics_path.parent / DETAILS_FOLDER / metrics_path.name


def split_headline(metrics: dict[str, Any], headline: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`metrics` cut in two: the `headline` entries (dotted keys, numbers only; absent ones are skipped)
    and everything else."""
    rest = json.loads(json.dumps(metrics))
    top: dict[str, Any] = {}
    for key in headline:
        *parents, leaf = key.split(".")
        source = rest
        for part in parents:
            source = source.get(part, {})
        if leaf not in source:
            continue
        value = source.pop(leaf)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"headline metric {key} must be a number, got {value!r}")
        target = top
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return top, _prune(rest)


def _prune(tree: dict[str, Any]) -> dict[str, Any]:
    """`tree` without the dicts that emptied when their headline entries left."""
    pruned = {k: _prune(v) if isinstance(v, dict) else v for k, v in tree.items()}
    return {k: v for k, v in pruned.items() if v != {} or tree[k] == {}}


def write_metrics(path: Path | str, metrics: dict[str, Any], headline: Iterable[str]) -> None:
    """Write the `headline` numbers of `metrics` to `path` (a DVC metric: what `dvc metrics show` and
    `dvc exp show` list) and everything else to `details_path(path)` (names, rules, per keyway, versions)."""
    top, rest = split_headline(metrics, headline)
    write_json(path, top)
    write_json(details_path(path), rest)


def read_metrics(path: Path | str) -> dict[str, Any]:
    """A stage's whole result: the headline numbers of `path` merged with its details file (when present)."""
    details = details_path(path)
    merged = json.loads(details.read_text()) if details.is_file() else {}
    _merge_into(merged, json.loads(Path(path).read_text()))
    return merged


def _merge_into(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = value
