"""Check a data set for links, special files and paths that leave it, then track it with DVC.

  keylike add-data data/raw/my_keys          # a folder: labels.jsonl + images/
  keylike add-data data/raw/my_keys.zip      # or a zip of the same

The data set must lie under data/raw. Nothing reaches DVC unless every entry is a plain file or
folder inside it (keylike.data.admission names each refused entry); then it runs `dvc add PATH`.
Next: list PATH in `ingest.user_datasets` in params.yaml and run `dvc repro`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike add-data`."""
    parser.add_argument("path", type=Path, metavar="PATH", help="the data set: a folder or a .zip under --raw")
    parser.add_argument("--raw", type=Path, default=Path("data/raw"), help="the folder user data sets live in")


def _dvc() -> str:
    """The dvc beside this Python (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "dvc"
    return str(beside) if beside.exists() else shutil.which("dvc") or "dvc"


def _cache_dir() -> Path | None:
    """The project's DVC cache folder (`dvc cache dir`), or None outside a DVC project."""
    result = subprocess.run([_dvc(), "cache", "dir"], capture_output=True, text=True, check=False)
    return Path(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip() else None


def run(args: argparse.Namespace) -> int:
    """Check the data set; `dvc add` it when nothing is unsafe."""
    from keylike.data.admission import check_dataset
    from keylike.errors import KeylikeError

    check_dataset(args.path, args.raw, _cache_dir())
    result = subprocess.run([_dvc(), "add", str(args.path)], check=False)
    if result.returncode != 0:
        raise KeylikeError(f"dvc add {args.path} failed (exit {result.returncode}); its output is above")
    print(f"{args.path}: checked and tracked ({args.path}.dvc); list it in ingest.user_datasets, then dvc repro")
    return 0
