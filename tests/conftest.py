"""Shared fixtures.

`tiny_project`: a git + DVC project with keylike's own `.dvc/config`, stage names, output paths and
params keys, whose stages take well under a second (`tests/fixtures/tinydvc/`). The remote,
team-workflow and report tests run the real `git` and `dvc` CLIs on it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "fixtures" / "tinydvc"
BIN = Path(sys.executable).parent


def file_md5(path: Path) -> str:
    """The md5 of a file's bytes (DVC's own hash for a file)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "md5").hexdigest()


@dataclass(frozen=True)
class Checkout:
    """A git + DVC checkout (of the tiny project, or a copy of keylike's own repo) and the
    environment its commands run in."""

    path: Path
    env: dict[str, str]

    def run(
        self, *args: str, check: bool = True, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        """Run a command in the checkout (with `env` added); on failure, the assertion shows its output."""
        result = subprocess.run(
            args, cwd=self.path, env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout
        )
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

    def at(self, path: Path) -> Checkout:
        """Another checkout (or any directory), with the same environment."""
        return Checkout(path, self.env)

    def clone(self, dest: Path) -> Checkout:
        """A fresh `git clone` of this project's origin, as a teammate would make it."""
        self.run("git", "clone", "-q", self.git("remote", "get-url", "origin").stdout.strip(), str(dest))
        return self.at(dest)


def make_team_env(root: Path) -> dict[str, str]:
    """An environment with its own HOME under `root` (so `~/.cache/keylike-dvc-remote` is per test),
    git identity, DVC site cache, and this venv first on PATH; nothing reaches beyond 127.0.0.1."""
    home = root / "home"
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
        "DVC_SITE_CACHE_DIR": str(root / "dvc-site-cache"),
        "DVC_NO_ANALYTICS": "1",
        "HF_HUB_OFFLINE": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


@pytest.fixture
def team_env(tmp_path: Path) -> dict[str, str]:
    """`make_team_env` in the test's tmp_path."""
    return make_team_env(tmp_path)


@pytest.fixture
def checkout(team_env: dict[str, str]) -> Callable[[Path], Checkout]:
    """`checkout(path)`: run git, dvc and keylike in any directory (a copy of keylike's own repo,
    say) with `team_env`."""
    return lambda path: Checkout(path, team_env)


def make_tiny_project(path: Path, origin: Path, env: dict[str, str]) -> Checkout:
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
    project = Checkout(path, env)
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
def tiny_project(tmp_path: Path, team_env: dict[str, str]) -> Checkout:
    """The tiny project after `dvc repro`, committed and pushed to its bare git origin."""
    return make_tiny_project(tmp_path / "work", tmp_path / "origin.git", team_env)


@pytest.fixture(scope="session")
def tiny_project_factory() -> Callable[[Path], Checkout]:
    """`build(root)`: a tiny project (as `tiny_project`) with its own environment under `root`, for
    fixtures of a wider scope than one test."""
    return lambda root: make_tiny_project(root / "work", root / "origin.git", make_team_env(root))


# --- Model fixtures: the embedded tiny Gemma 3n and a tiny train/val/test split ----------------------


@pytest.fixture(scope="session", autouse=True)
def keylike_cache(tmp_path_factory: pytest.TempPathFactory):
    """`KEYLIKE_CACHE` points at a session temp folder, so `tiny` is built there, never in ~/.cache."""
    previous = os.environ.get("KEYLIKE_CACHE")
    path = tmp_path_factory.mktemp("keylike-cache")
    os.environ["KEYLIKE_CACHE"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("KEYLIKE_CACHE", None)
    else:
        os.environ["KEYLIKE_CACHE"] = previous


@pytest.fixture(scope="session")
def tiny_model_dir(keylike_cache: Path) -> Path:
    """The tiny Gemma 3n saved like a hub checkpoint (what `train.base_model: tiny` loads)."""
    from keylike.model.loading import tiny_model_dir as build

    return build()


@dataclass(frozen=True)
class SplitFixture:
    """A split on disk in the pipeline's layout: `split_dir/{train,val,test}.jsonl`, images under `images_dir`."""

    split_dir: Path
    images_dir: Path
    records: dict[str, list]
    """{split name: [ManifestRecord, ...]}"""


def placeholder_key_image(label, size: int = 96):
    """A stand-in key photo: a blade whose notches follow the bitting, colour and bow shape per keyway."""
    from PIL import Image, ImageDraw

    from keylike.keys import get_spec, keyway_codes

    spec = get_spec(label.keyway)
    hue = keyway_codes().index(label.keyway)
    image = Image.new("RGB", (size, size), (235, 235, 230))
    draw = ImageDraw.Draw(image)
    colour = (90 + 20 * hue, 160 - 10 * hue, 60 + 25 * (hue % 4))
    bow = (4, size // 4, size // 3, 3 * size // 4)
    (draw.ellipse if hue % 2 else draw.rectangle)(bow, fill=colour)
    top, bottom = size // 3, size // 2 + size // 10
    draw.rectangle((size // 3, top, size - 6, bottom), fill=colour)
    step = (size - 6 - size // 3) / (spec.cuts + 1)
    for i, depth in enumerate(label.bitting):
        cut = (depth - spec.min_depth + 1) / (spec.max_depth - spec.min_depth + 2) * (bottom - top) * 0.8
        x = size // 3 + (i + 1) * step
        draw.polygon([(x - step / 2, top), (x + step / 2, top), (x, top + cut)], fill=(235, 235, 230))
    return image


def write_split_fixture(root: Path, counts: dict[str, int], keyways: tuple[str, ...] = ("SC1", "KW1", "Y1"), seed: int = 0) -> SplitFixture:
    """Write `counts[split]` records per split (keyways round-robin, MACS-valid bittings, placeholder images)."""
    import io

    import numpy as np

    from keylike.data.manifest import ManifestRecord, write_manifest
    from keylike.keys import KeyLabel, get_spec, sample_bitting

    rng = np.random.default_rng(seed)
    images_dir, split_dir = root / "ingested", root / "split"
    (images_dir / "images").mkdir(parents=True)
    records: dict[str, list] = {}
    for split, count in counts.items():
        records[split] = []
        for i in range(count):
            spec = get_spec(keyways[i % len(keyways)])
            label = KeyLabel(spec.code, tuple(sample_bitting(spec, rng)), spec.brand)
            buffer = io.BytesIO()
            placeholder_key_image(label).save(buffer, format="PNG")
            data = buffer.getvalue()
            digest = hashlib.sha256(data).hexdigest()
            (images_dir / "images" / f"{digest}.png").write_bytes(data)
            records[split].append(
                ManifestRecord(f"{split}-{i:03d}", f"images/{digest}.png", digest, 96, 96, "placeholder", spec.code, label.bitting, spec.brand)
            )
        write_manifest(split_dir / f"{split}.jsonl", records[split])
    return SplitFixture(split_dir, images_dir, records)


@pytest.fixture(scope="session")
def tiny_split(tmp_path_factory: pytest.TempPathFactory) -> SplitFixture:
    """A small split (train 12, val 3, test 6 records over SC1, KW1, Y1) with placeholder images."""
    return write_split_fixture(tmp_path_factory.mktemp("tiny-split"), {"train": 12, "val": 3, "test": 6})


@dataclass(frozen=True)
class TinyLora:
    """A LoRA adapter on the tiny model (train stage layout) and its bfloat16 merge (merge stage layout)."""

    adapter_dir: Path
    merged_dir: Path


TINY_TRAIN = {"backend": "hf", "base_model": "tiny", "load_in_4bit": False, "precision": "fp32", "image_size": 64,
              "lora_scope": "language"}
"""The committed train params moved onto the tiny model (fast, random weights) for library tests."""


@pytest.fixture(scope="session")
def tiny_lora(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> TinyLora:
    """An untrained LoRA adapter with seeded non-zero weights (so merging changes the model), saved by
    `save_adapter`, and the model merged in bfloat16, without running the train or merge stages."""
    import torch
    from peft import get_peft_model

    from keylike.config import load_params
    from keylike.model.adapter import save_adapter
    from keylike.model.loading import load_base_model
    from keylike.model.training import TrainConfig, lora_config

    root = tmp_path_factory.mktemp("tiny-lora")
    config = dataclasses.replace(TrainConfig.from_params(load_params(REPO / "params.yaml")), **TINY_TRAIN)
    model, processor = load_base_model("tiny", image_size=config.image_size)
    model = get_peft_model(model, lora_config(config, model))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.02)
    save_adapter(model, processor, config.adapter_info(), root / "adapter")
    merged = model.merge_and_unload().to(torch.bfloat16)
    merged.save_pretrained(root / "merged")
    processor.save_pretrained(root / "merged")
    return TinyLora(root / "adapter", root / "merged")


@pytest.fixture(scope="session")
def make_adapter(keylike_cache: Path):
    """`make_adapter(path, **train_overrides) -> (path, backend)`: a tiny-model adapter with random,
    non-zero LoRA weights, saved as the train stage saves it (for merge, export and serving tests)."""
    import torch

    from keylike.config import load_params
    from keylike.model.adapter import save_adapter
    from keylike.model.training import TrainConfig, load_backend

    def make(path: Path, **overrides):
        config = dataclasses.replace(TrainConfig.from_params(load_params(REPO / "params.yaml")), **{**TINY_TRAIN, **overrides})
        backend = load_backend(config)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for param in backend.model.parameters():
                if param.requires_grad:
                    param.add_(torch.randn(param.shape, generator=generator) * 0.05)
        save_adapter(backend.model, backend.processor, config.adapter_info(), path)
        return path, backend

    return make


@pytest.fixture
def exif_photos(tmp_path: Path) -> dict[str, Path]:
    """One phone-style photo three ways (PNG, so that the pixels are exact): `exif` (stored sideways with
    EXIF orientation 6), `rotated` (the same picture turned in its pixels) and `plain` (sideways, no EXIF)."""
    from PIL import Image

    sideways = Image.effect_noise((64, 40), 80).convert("RGB")
    sideways.paste((250, 20, 20), (0, 0, 20, 12))
    exif = Image.Exif()
    exif[0x0112] = 6
    made = {"exif": (sideways, {"exif": exif}), "rotated": (sideways.transpose(Image.Transpose.ROTATE_270), {}),
            "plain": (sideways, {})}
    for name, (image, options) in made.items():
        image.save(tmp_path / f"{name}.png", format="PNG", **options)
    return {name: tmp_path / f"{name}.png" for name in made}


# --- A copy of this repository at reduced size (the real pipeline, minutes on a CPU) ---------------------

REDUCED_PARAMS = {
    "ingest": {"synthetic_count": 150},
    "validate": {"min_records_per_keyway": 5},
    "train": {"epochs": 1},
    "export": {"parity_samples": 4},
}
"""Params that shrink the real pipeline for end-to-end tests (test_pipeline, the README's own-photos recipe)."""


def run_checked(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run a command of this venv in `cwd`; fail the test with its output unless it succeeds."""
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def copy_repo(dest: Path) -> None:
    """Copy the tracked files (as a fresh clone would have them) into a new git repo."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()
    for name in files:
        src = REPO / name
        if src.is_file() and not name.startswith(("metrics/", "dvc.lock")):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    run_checked(["git", "init", "-q"], dest)
    run_checked(["git", "config", "user.email", "ci@keylike.test"], dest)
    run_checked(["git", "config", "user.name", "keylike ci"], dest)


def set_params(repo: Path, overrides: dict) -> None:
    """Update blocks of `repo`/params.yaml with `overrides`."""
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for block, values in overrides.items():
        params[block].update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


@dataclass(frozen=True)
class PipelineCopy:
    """A copy of this repository in a new git repo, with REDUCED_PARAMS committed."""

    path: Path

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """Run a command in the copy; fail the test with its output unless it succeeds."""
        return run_checked(list(args), self.path)

    def set_params(self, overrides: dict) -> None:
        """Update blocks of the copy's params.yaml."""
        set_params(self.path, overrides)


@pytest.fixture
def reduced_pipeline(tmp_path: Path) -> PipelineCopy:
    """This repository's tracked files (no metrics, no lock) in a new git repo, params reduced, committed."""
    copy = PipelineCopy(tmp_path / "keylike")
    copy_repo(copy.path)
    copy.set_params(REDUCED_PARAMS)
    copy.run("git", "add", "-A")
    copy.run("git", "commit", "-qm", "reduced pipeline")
    return copy
