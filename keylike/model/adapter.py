"""The adapter folder the train stage writes: LoRA weights, processor, and the facts merge and export need.

The adapter carries its own base model and image side (`keylike_train.json`), so the stages after
train read them here, never from the train block of params.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from keylike.errors import ConfigError
from keylike.io import atomic_directory, write_json

TRAIN_INFO_NAME = "keylike_train.json"
"""File in the adapter folder with the adapter's AdapterInfo."""


@dataclass(frozen=True)
class AdapterInfo:
    """What an adapter was trained on and how: written beside its weights by the train stage."""

    backend: str
    """Training backend (`hf` or `unsloth`)."""
    base_model: str
    """The base model the adapter sits on (`train.base_model` when it was trained)."""
    image_size: int
    """Image side the processor resized photos to in training."""
    load_in_4bit: bool
    """True when the base was quantised to 4 bits in training (QLoRA)."""
    lora_scope: str
    """Which modules the LoRA adapts (`train.lora_scope`)."""


def save_adapter(model: Any, processor: Any, info: AdapterInfo, out_dir: Path | str) -> None:
    """Save adapter weights, processor and training info atomically; no paths or times in the files."""
    model.peft_config["default"].base_model_name_or_path = info.base_model  # PEFT's own copy, never read back
    with atomic_directory(out_dir) as tmp:
        model.save_pretrained(tmp, save_embedding_layers=False)
        (tmp / "README.md").unlink(missing_ok=True)  # PEFT's empty model card names the local base model path
        processor.save_pretrained(tmp)
        write_json(tmp / TRAIN_INFO_NAME, asdict(info))


def read_adapter_info(adapter_dir: Path | str) -> AdapterInfo:
    """The AdapterInfo of the adapter in `adapter_dir`, written by the train stage."""
    path = Path(adapter_dir) / TRAIN_INFO_NAME
    if not path.is_file():
        raise ConfigError(f"adapter folder {adapter_dir} has no {TRAIN_INFO_NAME}; train it with `dvc repro train`")
    return AdapterInfo(**json.loads(path.read_text()))
