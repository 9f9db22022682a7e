"""Checkpoints with resume: a run fingerprint, the newest complete checkpoint, and cleanup after a complete run."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict
from pathlib import Path

from keylike.io import atomic_write_text
from keylike.model.training.config import TrainConfig

CHECKPOINT_STATE_NAME = "keylike_checkpoints.json"
"""File in the checkpoints folder with the run fingerprint (a checkpoint of other params is not resumed)."""


def run_fingerprint(config: TrainConfig, split_dir: Path | str) -> str:
    """Hash of the config and the train/val split files: a checkpoint resumes only the same run."""
    digest = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode())
    for name in ("train", "val"):
        digest.update((Path(split_dir) / f"{name}.jsonl").read_bytes())
    return digest.hexdigest()


def last_checkpoint(checkpoints_dir: Path | str) -> Path | None:
    """The newest complete checkpoint (its trainer_state.json is written last), or None."""
    complete = [p for p in Path(checkpoints_dir).glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    return max(complete, key=lambda p: int(p.name.rsplit("-", 1)[1]), default=None)


def prepare_checkpoints(checkpoints_dir: Path | str, fingerprint: str) -> Path | None:
    """The checkpoint to resume from; checkpoints of another run (other fingerprint) are deleted."""
    checkpoints_dir = Path(checkpoints_dir)
    state_path = checkpoints_dir / CHECKPOINT_STATE_NAME
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    if state.get("fingerprint") != fingerprint:
        shutil.rmtree(checkpoints_dir, ignore_errors=True)
    checkpoints_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(state_path, json.dumps({"fingerprint": fingerprint, "status": "running"}, indent=2) + "\n")
    return last_checkpoint(checkpoints_dir)


def finish_checkpoints(checkpoints_dir: Path | str, fingerprint: str) -> None:
    """After a complete run: drop the checkpoints, keep a small state file (same bytes every run)."""
    checkpoints_dir = Path(checkpoints_dir)
    for path in checkpoints_dir.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    state = {"fingerprint": fingerprint, "status": "complete"}
    atomic_write_text(checkpoints_dir / CHECKPOINT_STATE_NAME, json.dumps(state, indent=2) + "\n")
