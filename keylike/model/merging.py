"""Merge a LoRA adapter into the 16-bit base weights; the result loads with plain transformers.

The base is always loaded in full precision and the merged weights are cast to `merge.dtype`, so an
adapter trained on a 4-bit base (QLoRA) is merged onto the 16-bit base, as unsloth's `merged_16bit`.
A smoke check reloads the saved model with `AutoModelForImageTextToText` and answers one image.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from keylike.config import base_seed, check, config_from_block
from keylike.errors import AnswerParseError, ConfigError
from keylike.io import atomic_directory

MERGE_DTYPES = ("bfloat16", "float16", "float32")


@dataclass(frozen=True)
class MergeConfig:
    """The `merge` block of params.yaml, plus the base model and image size from `train`."""

    dtype: str
    """Dtype of the saved merged weights: `bfloat16` (default), `float16` or `float32`."""
    base_model: str
    """The base model the adapter was trained on (`train.base_model`)."""
    image_size: int
    """Image side the processor resizes to (`train.image_size`)."""
    seed: int
    """base.seed (the smoke image and generation are deterministic anyway)."""
    min_presented_accuracy: float = 0.95
    """Answers are presented as readings only above the confidence at which, on the val split, at
    least this share of presented answers is exactly right (keylike.evaluation.threshold)."""

    def __post_init__(self) -> None:
        check(self.dtype in MERGE_DTYPES, "merge.dtype", f"must be one of {', '.join(MERGE_DTYPES)}, got {self.dtype!r}")
        check(0 < self.min_presented_accuracy <= 1, "merge.min_presented_accuracy",
              f"must be in (0, 1], got {self.min_presented_accuracy}")
        check(self.image_size >= 32, "train.image_size", f"must be >= 32, got {self.image_size}")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> MergeConfig:
        """Build from params.yaml: `merge`, `train.base_model`, `train.image_size` and `base.seed`."""
        train = params.get("train") or {}
        missing = [key for key in ("base_model", "image_size") if key not in train]
        if missing:
            raise ConfigError(f"merge needs train.{' and train.'.join(missing)} in params")
        return config_from_block(
            cls, params, "merge", base_model=train["base_model"], image_size=train["image_size"], seed=base_seed(params)
        )


def read_train_info(adapter_dir: Path | str) -> dict[str, Any]:
    """The adapter's training info (base model, image size, 4-bit) written by the train stage."""
    from keylike.model.training import TRAIN_INFO_NAME

    path = Path(adapter_dir) / TRAIN_INFO_NAME
    if not path.is_file():
        raise ConfigError(f"adapter folder {adapter_dir} has no {TRAIN_INFO_NAME}; train it with `dvc repro train`")
    return json.loads(path.read_text())


def smoke_image(size: int) -> Image.Image:
    """A fixed, drawn stand-in key photo for the smoke check (the merge stage reads no data set)."""
    image = Image.new("RGB", (size, size), (228, 226, 220))
    draw = ImageDraw.Draw(image)
    draw.ellipse((size * 0.05, size * 0.3, size * 0.35, size * 0.7), fill=(176, 141, 60))
    draw.rectangle((size * 0.33, size * 0.44, size * 0.95, size * 0.58), fill=(176, 141, 60))
    for i in range(5):
        x = size * (0.42 + 0.1 * i)
        draw.polygon([(x - size * 0.03, size * 0.44), (x + size * 0.03, size * 0.44), (x, size * 0.5)], fill=(228, 226, 220))
    return image


def merge_adapter(
    config: MergeConfig, *, adapter_dir: Path | str, out_dir: Path | str,
    finalize: Callable[[Path], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Merge `adapter_dir` into the base model, save it to `out_dir` with the processor; return metrics.

    `finalize(folder)` runs on the saved model before it replaces `out_dir` (the merge stage chooses the
    confidence threshold there); its metrics are returned under `finalize`.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoProcessor

    from keylike.model.loading import load_base_model, load_from_folder, set_image_size

    info = read_train_info(adapter_dir)
    if info["base_model"] != config.base_model:
        raise ConfigError(
            f"adapter {adapter_dir} was trained on {info['base_model']!r} but train.base_model is "
            f"{config.base_model!r}; retrain (dvc repro train) or restore train.base_model"
        )
    base, _ = load_base_model(config.base_model, image_size=config.image_size, dtype="float32")
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged = merged.to(getattr(torch, config.dtype))
    processor = load_from_folder(AutoProcessor, adapter_dir)
    set_image_size(processor, config.image_size)
    with atomic_directory(out_dir) as tmp:
        merged.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        finalized = finalize(tmp) if finalize else None
    return {
        **({"finalize": finalized} if finalized is not None else {}),
        "base_model": config.base_model,
        "dtype": config.dtype,
        "trained_in_4bit": bool(info.get("load_in_4bit", False)),
        "params": sum(p.numel() for p in merged.parameters()),
        **smoke_check(out_dir, config.image_size),
    }


def smoke_check(model_dir: Path | str, image_size: int) -> dict[str, Any]:
    """Reload the saved model with plain transformers, answer one image; report whether the answer parses."""
    from keylike.keys import parse_answer
    from keylike.model.inference import generate_answers, load_for_inference

    model, processor = load_for_inference(model_dir)
    (generation,) = generate_answers(model, processor, [smoke_image(image_size)], batch_size=1, max_new_tokens=48)
    try:
        parse_answer(generation.text)
        error = None
    except AnswerParseError as exc:
        error = exc.reason
    return {"smoke_answer": generation.text, "smoke_parsed": error is None, "smoke_parse_error": error}
