"""The pipeline's paths, read from dvc.yaml: each stage's `cmd:` line is the one place that names them.

`keylike <verb>` takes its default paths from the stage of the same name, so the command and the
stage read and write the same files without a second copy of every path.
"""

from __future__ import annotations

import functools
import os
import shlex
from pathlib import Path

import yaml

_SOURCE_TREE = Path(__file__).resolve().parent.parent
"""The checkout keylike runs from (an editable install): its dvc.yaml when no folder from the working one up has one."""


def find_dvc_yamls(cwd: Path | None = None) -> list[Path]:
    """The dvc.yaml of the working folder and of each folder above it, nearest first; else keylike's own
    checkout's; empty when there is none."""
    cwd = cwd or Path.cwd()
    found = [folder / "dvc.yaml" for folder in (cwd, *cwd.parents) if (folder / "dvc.yaml").is_file()]
    return found or [path for path in (_SOURCE_TREE / "dvc.yaml",) if path.is_file()]


def find_dvc_yaml(cwd: Path | None = None) -> Path | None:
    """The nearest dvc.yaml of `find_dvc_yamls`; None when there is none."""
    return next(iter(find_dvc_yamls(cwd)), None)


@functools.cache
def _stage_commands(dvc_yaml: Path) -> dict[str, str]:
    stages = (yaml.safe_load(dvc_yaml.read_text()) or {}).get("stages") or {}
    return {name: str(stage.get("cmd", "")) for name, stage in stages.items() if isinstance(stage, dict)}


def stage_dvc_yaml(stage: str, cwd: Path | None = None) -> Path | None:
    """The nearest dvc.yaml of `find_dvc_yamls` that defines `stage` (a nested pipeline such as
    data/base/dvc.yaml is passed over), relative to the working folder when it is in it or above it."""
    cwd = cwd or Path.cwd()
    for dvc_yaml in find_dvc_yamls(cwd):
        if stage in _stage_commands(dvc_yaml.resolve()):
            return Path(os.path.relpath(dvc_yaml, cwd)) if cwd.is_relative_to(dvc_yaml.parent) else dvc_yaml
    return None


def stage_paths(stage: str, dvc_yaml: Path | None = None) -> dict[str, Path]:
    """The `--flag value` pairs of `stage`'s `cmd:` in dvc.yaml, as flag -> Path (empty without one).

    Without `dvc_yaml`, the stage's of `stage_dvc_yaml`, its paths made relative to the working folder
    when that is below the pipeline's folder, so the defaults hold in any subfolder of the repository."""
    if dvc_yaml is None:
        found = stage_dvc_yaml(stage)
        if found is None:
            return {}
        paths = stage_paths(stage, found)
        return paths if found.is_absolute() else {flag: Path(os.path.relpath(found.parent / path)) for flag, path in paths.items()}
    words = shlex.split(_stage_commands(dvc_yaml.resolve()).get(stage, ""))
    return {flag: Path(value) for flag, value in zip(words, words[1:]) if flag.startswith("--") and not value.startswith("--")}
