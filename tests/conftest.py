"""Shared fixtures.

`tiny_project`: a git + DVC project with keylike's own `.dvc/config`, stage names, output paths and
params keys, whose stages take well under a second (`tests/fixtures/tinydvc/`). The remote,
team-workflow and report tests run the real `git` and `dvc` CLIs on it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "fixtures" / "tinydvc"
BIN = Path(sys.executable).parent


def file_md5(path: Path) -> str:
    """The md5 of a file's bytes (DVC's own hash for a file)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "md5").hexdigest()


@dataclass(frozen=True)
class TinyProject:
    """A checkout of the tiny project, with the environment its commands run in."""

    path: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a command in the checkout; on failure, the assertion shows its output."""
        result = subprocess.run(args, cwd=self.path, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result

    def dvc(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """Run the real `dvc` CLI of this venv in the checkout."""
        return self.run(str(BIN / "dvc"), *args, **kwargs)

    def keylike(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """Run the installed `keylike` CLI in the checkout."""
        return self.run(str(BIN / "keylike"), *args, **kwargs)

    def git(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """Run `git` in the checkout."""
        return self.run("git", *args, **kwargs)

    def hashes(self, *outs: str) -> dict[str, str]:
        """{relative path: md5} of every file under the given outputs (files or directories)."""
        found = {}
        for out in outs:
            root = self.path / out
            files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
            found.update({p.relative_to(self.path).as_posix(): file_md5(p) for p in files})
        return found

    def clone(self, dest: Path) -> TinyProject:
        """A fresh `git clone` of this project's origin, as a teammate would make it."""
        self.run("git", "clone", "-q", self.git("remote", "get-url", "origin").stdout.strip(), str(dest))
        return TinyProject(dest, self.env)


TRACKED_OUTS = ("data/ingested", "data/models/adapter", "data/models/merged", "data/models/export")


@pytest.fixture
def team_env(tmp_path: Path) -> dict[str, str]:
    """An environment with its own HOME (so `~/.cache/keylike-dvc-remote` is per test), git identity,
    DVC site cache, and this venv first on PATH; nothing reaches beyond 127.0.0.1."""
    home = tmp_path / "home"
    home.mkdir()
    keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TMPDIR", "TERM")}
    return {
        **keep,
        "HOME": str(home),
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "GIT_AUTHOR_NAME": "keylike test",
        "GIT_AUTHOR_EMAIL": "test@keylike.invalid",
        "GIT_COMMITTER_NAME": "keylike test",
        "GIT_COMMITTER_EMAIL": "test@keylike.invalid",
        "GIT_CONFIG_NOSYSTEM": "1",
        "DVC_SITE_CACHE_DIR": str(tmp_path / "dvc-site-cache"),
        "DVC_NO_ANALYTICS": "1",
        "HF_HUB_OFFLINE": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def make_tiny_project(path: Path, origin: Path, env: dict[str, str]) -> TinyProject:
    """Write the tiny project with keylike's `.dvc/config`, run `dvc repro`, commit, push to a bare
    git `origin` (not yet to the DVC remote)."""
    (path / "stages").mkdir(parents=True)
    shutil.copy(TINY / "tiny.py", path / "stages" / "tiny.py")
    shutil.copy(TINY / "pipeline.yaml", path / "dvc.yaml")
    shutil.copy(TINY / "params.yaml", path / "params.yaml")
    profiles = path / "keylike" / "profiles"
    (profiles / "profile").mkdir(parents=True)
    (profiles / "params.yaml").symlink_to("../../params.yaml")
    shutil.copy(TINY / "production.yaml", profiles / "profile" / "production.yaml")
    (path / ".dvc").mkdir()
    for name in (".dvc/config", ".dvc/.gitignore", ".dvcignore"):
        shutil.copy(REPO / name, path / name)
    project = TinyProject(path, env)
    project.git("init", "-q", "-b", "main")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "tiny project")
    project.dvc("repro")
    project.git("add", "dvc.lock", "metrics")
    project.git("commit", "-q", "-m", "run the pipeline")
    project.run("git", "init", "-q", "--bare", "-b", "main", str(origin))
    project.git("remote", "add", "origin", str(origin))
    project.git("push", "-q", "-u", "origin", "main")
    return project


@pytest.fixture
def tiny_project(tmp_path: Path, team_env: dict[str, str]) -> TinyProject:
    """The tiny project after `dvc repro`, committed and pushed to its bare git origin."""
    return make_tiny_project(tmp_path / "work", tmp_path / "origin.git", team_env)
