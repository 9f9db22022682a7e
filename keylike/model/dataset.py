"""Training rows from split records: one prompt (the fixed instruction), one target (the answer format).

The prompt is `keylike.model.inference.prompt_messages()`, the very turn the model is asked at inference.

Two row shapes hold the same content: `prompt`/`completion` rows for TRL's vision collator (loss on
the completion only) and `messages` rows for unsloth's collator (loss after the model's turn marker).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from keylike.data.manifest import ManifestRecord
from keylike.errors import InvalidRecordError
from keylike.keys import KeyLabel, format_answer
from keylike.model.inference import prompt_messages

RowFormat = Literal["prompt_completion", "messages"]

INSTRUCTION_PART = "<start_of_turn>user\n"
"""Gemma's user-turn marker: where masked (not trained) text starts."""
RESPONSE_PART = "<start_of_turn>model\n"
"""Gemma's model-turn marker: the trained answer follows it."""


def completion_messages(label: KeyLabel) -> list[dict[str, Any]]:
    """The assistant turn the model learns to write: exactly `format_answer(label)`."""
    return [{"role": "assistant", "content": [{"type": "text", "text": format_answer(label)}]}]


def make_row(image: Image.Image, label: KeyLabel, row_format: RowFormat = "prompt_completion") -> dict[str, Any]:
    """One training row for `image` answered with `label`, in `row_format`."""
    if row_format == "prompt_completion":
        return {"images": [image], "prompt": prompt_messages(), "completion": completion_messages(label)}
    if row_format == "messages":
        return {"images": [image], "messages": prompt_messages() + completion_messages(label)}
    raise ValueError(f"unknown row format {row_format!r}")


def load_image(images_dir: Path | str, record: ManifestRecord) -> Image.Image:
    """The record's image as RGB, read from `images_dir / record.image`."""
    path = Path(images_dir) / record.image
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (FileNotFoundError, OSError) as exc:
        raise InvalidRecordError(record.id, "image", f"cannot read {path}: {exc}") from exc


def build_dataset(records: Sequence[ManifestRecord], images_dir: Path | str, row_format: RowFormat = "prompt_completion") -> Any:
    """A `datasets.Dataset` with one row per record (images loaded, labels formatted)."""
    from datasets import Dataset

    rows = [make_row(load_image(images_dir, record), record.label, row_format) for record in records]
    return Dataset.from_list(rows)
