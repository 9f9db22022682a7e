"""Disk use of DVC's cached outputs: is a large output stored once (linked to .dvc/cache) or twice?

Counts every file of the cached outputs (`outs` of dvc.yaml and *.dvc files, not `cache: false`)
and of `.dvc/cache/files` once per inode, by allocated blocks, as `du` does. `workspace_extra` is
what the workspace adds on top of the cache: 0 means each output is stored once, the outputs' size
means twice. With `--compare-copy` the outputs are then checked out again with `cache.type copy`
(`dvc checkout --relink`, in .dvc/config.local) and measured, to show what links save; the repo is
put back after.
With `--copy-of REPO`, the repo's HEAD commit is extracted into a temporary git repo and `dvc repro`
runs there first (the default profile unless `--set block.key=value` says otherwise), once per
`--cache-type` given (set in the copy's .dvc/config.local).

    python -m keylike.benchmarks.disk_use --repo .
    python -m keylike.benchmarks.disk_use --copy-of . --cache-type hardlink,symlink \\
        --cache-type reflink,hardlink,symlink --compare-copy --out metrics/benchmarks/disk_use.json

Reflinks (btrfs, XFS, APFS) share blocks without sharing an inode; they count twice here.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from keylike.benchmarks import command_line
from keylike.benchmarks.machine import machine
from keylike.io import write_json


@dataclass(frozen=True)
class DiskUse:
    """Disk use of the cached outputs in the workspace and of the cache, in bytes."""

    outputs_apparent: int
    """Sum of the outputs' file sizes (what `ls -l` adds up)."""
    outputs_on_disk: int
    """Blocks allocated to the outputs' files, each inode once."""
    cache_on_disk: int
    """Blocks allocated to .dvc/cache/files, each inode once."""
    total_on_disk: int
    """Blocks allocated to outputs and cache together, each inode once: what the repro costs."""
    files: dict[str, int]
    """Output files by kind: hardlink (inode shared with the cache), symlink, separate (a copy or a reflink)."""

    @property
    def workspace_extra(self) -> int:
        """What the workspace adds on top of the cache: 0 when every output is a link into it, the
        outputs' whole size when they are copies."""
        return self.total_on_disk - self.cache_on_disk


def cached_outputs(repo: Path) -> list[Path]:
    """The outputs DVC caches: `outs` of dvc.yaml stages and of git-tracked *.dvc files, without
    `cache: false`."""
    declared: list = []
    if (repo / "dvc.yaml").is_file():
        for stage in (yaml.safe_load((repo / "dvc.yaml").read_text()).get("stages") or {}).values():
            declared += stage.get("outs") or []
    for name in filter(None, _run(["git", "ls-files", "-z", "--", "*.dvc"], repo).split("\0")):
        declared += yaml.safe_load((repo / name).read_text()).get("outs") or []
    paths = []
    for out in declared:
        if isinstance(out, str):
            paths.append(out)
        elif isinstance(out, dict) and "path" in out and out.get("cache", True):
            paths.append(out["path"])
        elif isinstance(out, dict) and "path" not in out:
            (path, options), = out.items()
            if (options or {}).get("cache", True):
                paths.append(path)
    return [repo / p for p in sorted(set(paths))]


def _files(root: Path) -> list[Path]:
    if root.is_symlink() or root.is_file():
        return [root]
    return [p for p in root.rglob("*") if p.is_symlink() or p.is_file()] if root.is_dir() else []


def measure(repo: Path) -> DiskUse:
    """Measure the cached outputs of `repo` and its cache (see module docstring)."""
    cache = _files(repo / ".dvc" / "cache" / "files")
    cache_inodes = {(s.st_dev, s.st_ino) for s in map(os.lstat, cache)}
    outputs = [f for out in cached_outputs(repo) for f in _files(out)]
    kinds: Counter[str] = Counter()
    blocks: dict[tuple[int, int], int] = {}
    out_blocks: dict[tuple[int, int], int] = {}
    apparent = 0
    for path in outputs:
        stat = os.lstat(path)
        key = (stat.st_dev, stat.st_ino)
        kinds["symlink" if path.is_symlink() else "hardlink" if key in cache_inodes else "separate"] += 1
        out_blocks[key] = blocks[key] = stat.st_blocks * 512
        apparent += os.stat(path).st_size
    cache_blocks = {}
    for path in cache:
        stat = os.lstat(path)
        cache_blocks[(stat.st_dev, stat.st_ino)] = blocks[(stat.st_dev, stat.st_ino)] = stat.st_blocks * 512
    return DiskUse(
        outputs_apparent=apparent,
        outputs_on_disk=sum(out_blocks.values()),
        cache_on_disk=sum(cache_blocks.values()),
        total_on_disk=sum(blocks.values()),
        files=dict(sorted(kinds.items())),
    )


def _run(args: list[str], cwd: Path) -> str:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed in {cwd}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def copy_committed(src: Path, dest: Path) -> None:
    """Extract `src`'s HEAD commit (`git archive`, symlinks kept) into a new git repo at `dest`."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=src, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    _run(["git", "init", "-q"], dest)


def _override_params(path: Path, overrides: list[str]) -> None:
    """Apply `block.key=value` overrides (values parsed as YAML) to a params file."""
    params = yaml.safe_load(path.read_text())
    for item in overrides:
        key, value = item.split("=", 1)
        block, name = key.split(".", 1)
        params[block][name] = yaml.safe_load(value)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _fs_type(path: Path) -> str:
    """The filesystem type of the mount holding `path` (from /proc/mounts; '' elsewhere)."""
    best, fstype = "", ""
    mounts = Path("/proc/mounts")
    for line in mounts.read_text().splitlines() if mounts.exists() else []:
        _, mount, kind, *_ = line.split()
        if str(path.resolve()).startswith(mount) and len(mount) > len(best):
            best, fstype = mount, kind
    return fstype


def run(repo: Path, compare_copy: bool) -> dict:
    """Measure `repo`, and with `compare_copy` also with copies instead of links (then relink)."""
    result = {
        "cache_type": _run([sys.executable, "-m", "dvc", "config", "cache.type"], repo).strip(),
        "filesystem": _fs_type(repo),
        "linked": {**asdict(linked := measure(repo)), "workspace_extra": linked.workspace_extra},
    }
    if compare_copy:
        dvc = [sys.executable, "-m", "dvc"]
        _run([*dvc, "config", "--local", "cache.type", "copy"], repo)
        _run([*dvc, "checkout", "--relink"], repo)
        result["copied"] = {**asdict(copied := measure(repo)), "workspace_extra": copied.workspace_extra}
        _run([*dvc, "config", "--local", "--unset", "cache.type"], repo)
        _run([*dvc, "checkout", "--relink"], repo)
    return result


def _reproduced(src: Path, dest: Path, overrides: list[str], cache_type: str | None) -> float:
    """Copy `src` to `dest`, apply params overrides and a cache type (config.local), `dvc repro`;
    return the repro's wall time in seconds."""
    copy_committed(src, dest)
    if overrides:
        _override_params(dest / "params.yaml", overrides)
    if cache_type:
        _run([sys.executable, "-m", "dvc", "config", "--local", "cache.type", cache_type], dest)
    started = time.perf_counter()
    _run([sys.executable, "-m", "dvc", "repro"], dest)
    return round(time.perf_counter() - started, 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="disk_use", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--repo", type=Path, help="measure this DVC repo as it is")
    where.add_argument("--copy-of", type=Path, help="extract this repo's HEAD to a temp repo and `dvc repro` there")
    parser.add_argument("--cache-type", action="append", default=[], metavar="TYPES",
                        help="with --copy-of: one copy and repro per value (default: the repo's cache.type)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="BLOCK.KEY=VALUE", help="params override in the copy"
    )
    parser.add_argument("--compare-copy", action="store_true", help="also measure with cache.type copy")
    parser.add_argument("--out", type=Path, help="write the JSON here (default: print it)")
    args = parser.parse_args(argv)

    runs = []
    if args.repo is not None:
        runs.append(run(args.repo, args.compare_copy))
    copies = (args.cache_type or [None]) if args.copy_of is not None else []
    for cache_type in copies:
        with tempfile.TemporaryDirectory(prefix="keylike-disk-use-") as tmp:
            repro_s = _reproduced(args.copy_of, Path(tmp) / "repo", args.set, cache_type)
            runs.append({**run(Path(tmp) / "repo", args.compare_copy), "repro_s": repro_s})
    result = {
        "runs": runs,
        "command": command_line("keylike.benchmarks.disk_use", argv),
        "params_overrides": args.set,
        "git_revision": _run(["git", "rev-parse", "--short", "HEAD"], args.copy_of or args.repo).strip(),
        "machine": machine(("dvc",)),
    }
    if args.out is None:
        print(yaml.safe_dump(result, sort_keys=True))
    else:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
