"""Merge a LoRA adapter into the 16-bit base weights; the result loads with plain transformers.

The base is always loaded in full precision and the merged weights are cast to `merge.dtype`, so an
adapter trained on a 4-bit base (QLoRA) is merged onto the 16-bit base, as unsloth's `merged_16bit`.
A smoke check reloads the saved model with `AutoModelForImageTextToText` and answers one image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from keylike.config import base_seed, check, config_from_block
from keylike.errors import AnswerParseError
from keylike.io import atomic_directory
from keylike.model.adapter import read_adapter_info
from keylike.numerics import set_cpu_threads

MERGE_DTYPES = ("bfloat16", "float16", "float32")
HEADLINE = ("finalize.temperature",)
"""The numbers metrics/merge.json keeps; the rest (base model, smoke answer, val evidence) go to metrics/details/."""


@dataclass(frozen=True)
class MergeConfig:
    """The `merge` block of params.yaml (the base model and image side come from the adapter folder)."""

    dtype: str
    """Dtype of the saved merged weights: `bfloat16` (default), `float16` or `float32`."""
    seed: int
    """base.seed (the smoke image and generation are deterministic anyway)."""
    min_presented_accuracy: float = 0.95
    """Answers are presented as readings only above the confidence at which, on the val split, at
    least this share of presented answers is exactly right (keylike.evaluation.threshold)."""
    cpu_threads: int = 1
    """Torch threads on a CPU (the same count gives the same bytes on any machine)."""

    def __post_init__(self) -> None:
        check(self.dtype in MERGE_DTYPES, "merge.dtype", f"must be one of {', '.join(MERGE_DTYPES)}, got {self.dtype!r}")
        check(0 < self.min_presented_accuracy <= 1, "merge.min_presented_accuracy",
              f"must be in (0, 1], got {self.min_presented_accuracy}")
        check(self.cpu_threads >= 1, "merge.cpu_threads", f"must be >= 1, got {self.cpu_threads}")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> MergeConfig:
        """Build from params.yaml: `merge` and `base.seed`."""
        return config_from_block(cls, params, "merge", seed=base_seed(params))


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
    finalize: Callable[[Path], dict[str, Any]] | None = None, split_dir: Path | str | None = None,
) -> dict[str, Any]:
    """Merge `adapter_dir` into the base model, save it to `out_dir` with the processor and a model card
    (photos per source counted in `split_dir`); return metrics.

    `finalize(folder)` runs on the saved model before it replaces `out_dir` (the merge stage chooses the
    confidence threshold there); its metrics are returned under `finalize`.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoProcessor

    from keylike.model.card import ModelCard, split_counts, write_model_card
    from keylike.model.loading import load_base_model, load_from_folder, set_image_size

    set_cpu_threads(config.cpu_threads)
    info = read_adapter_info(adapter_dir)
    base, _ = load_base_model(info.base_model, image_size=info.image_size, dtype="float32")
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged = merged.to(getattr(torch, config.dtype))
    processor = load_from_folder(AutoProcessor, adapter_dir)
    set_image_size(processor, info.image_size)
    with atomic_directory(out_dir) as tmp:
        merged.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        finalized = finalize(tmp) if finalize else None
        metrics = {
            **({"finalize": finalized} if finalized is not None else {}),
            "base_model": info.base_model,
            "dtype": config.dtype,
            "trained_in_4bit": info.load_in_4bit,
            "params": sum(p.numel() for p in merged.parameters()),
            **smoke_check(tmp, info.image_size),
        }
        write_model_card(tmp, ModelCard(
            title="keylike: merged model (base + LoRA adapter, 16-bit)",
            summary="Reads a photo of a house key; answers `KEYWAY: ...`, `BITTING: ...`, `BRAND: ...` or `NO KEY`. "
                    "Load it with `keylike predict --model <this folder>` or `keylike serve`; the confidence "
                    "threshold and temperature are in `keylike_calibration.json`.",
            base_model=info.base_model,
            data=split_counts(split_dir) if split_dir is not None else {},
            params={"train": asdict(info),
                    "merge": {"dtype": config.dtype, "min_presented_accuracy": config.min_presented_accuracy}},
            metrics=metrics,
        ))
    return metrics


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
