"""Model cards: the README.md written beside the base model, the merged model and every export.

A card says what the model is, what it was built from (base model, photos per split and source, params),
how it scored, its limits, and the sha256 of each weight file, so a copy can be checked against it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keylike.io import atomic_write_text

CARD_NAME = "README.md"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".litertlm", ".tflite")
"""Files whose sha256 a card lists."""

LIMITS = """\
- Trained on keylike's synthetic renders of public key specs (and the user data sets counted above):
  photos unlike them (other lighting, worn keys, keys on a ring, other keyways) are read worse; measure
  on your own photos before you rely on it (the benchmark's `per_source` block).
- It knows only the keyways of the spec table (`keylike/keys/data/keyways.json`); any other key is read
  as the nearest known keyway. Answers below the confidence threshold are returned as `low_confidence`.
- The keyed-alike risk is computed from the spec, not read from the photo, and is a lower bound (retail
  packs and master keying reuse codes on purpose).
- A bitting read from a photo is not proof of ownership: do not use it to copy keys that are not yours."""


def file_hashes(folder: Path | str) -> list[tuple[str, int, str]]:
    """(path relative to `folder`, bytes, sha256) of each weight file under `folder`, sorted by path."""
    folder = Path(folder)
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    return [(p.relative_to(folder).as_posix(), p.stat().st_size, _sha256(p)) for p in paths]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_table(folder: Path | str) -> str:
    """The card's markdown table of weight files: file, bytes, sha256."""
    rows = "\n".join(f"| `{name}` | {size:,} | `{sha}` |" for name, size, sha in file_hashes(folder))
    return f"| file | bytes | sha256 |\n|---|---|---|\n{rows}"


def split_counts(split_dir: Path | str) -> dict[str, dict[str, int]]:
    """Photos per split (`train`, `val`, `test`) and source (`synthetic`, each user data set)."""
    from keylike.data.manifest import read_manifest

    return {
        name: dict(sorted(Counter(r.source for r in read_manifest(Path(split_dir) / f"{name}.jsonl")).items()))
        for name in ("train", "val", "test")
        if (Path(split_dir) / f"{name}.jsonl").is_file()
    }


@dataclass(frozen=True)
class ModelCard:
    """What a fine-tuned model's card says; `render` adds the weight files' hashes."""

    title: str
    summary: str
    base_model: str
    data: dict[str, dict[str, int]]
    """Photos per split and source (split_counts)."""
    params: dict[str, Any]
    """The params blocks the model was made with."""
    metrics: dict[str, Any]

    def render(self, folder: Path | str) -> str:
        """The card's markdown for the model files in `folder`."""
        sources = sorted({source for counts in self.data.values() for source in counts})
        header = " | ".join(["source", *self.data])
        rows = "\n".join(
            f"| {source} | " + " | ".join(str(counts.get(source, 0)) for counts in self.data.values()) + " |"
            for source in sources
        )
        return f"""# {self.title}

{self.summary}

Base model: `{self.base_model}` (its own card: `README.md` in that folder).

## Data
Photos per split and source (`synthetic`: rendered by keylike; any other: a user data set under `data/raw/`).

| {header} |
|{"---|" * (len(self.data) + 1)}
{rows}

## Params
```json
{json.dumps(self.params, indent=2, sort_keys=True)}
```

## Metrics
```json
{json.dumps(self.metrics, indent=2, sort_keys=True)}
```
The test-split scores of the merged model are in `metrics/benchmark.json` (and `metrics/details/benchmark.json`)
of the repository revision that made it.

## Limits
{LIMITS}

## Files
{files_table(folder)}
"""


def write_model_card(folder: Path | str, card: ModelCard) -> None:
    """Write `card` as `README.md` in `folder` (atomically)."""
    atomic_write_text(Path(folder) / CARD_NAME, card.render(folder))
