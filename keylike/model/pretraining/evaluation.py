"""Score the base model on held-out photos: generated answers, read by the pipeline's own parser."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keylike.evaluation import field_metrics
from keylike.keys import MAX_ANSWER_TOKENS, NO_KEY, parse_fields
from keylike.model.inference import generate_answers
from keylike.model.pretraining.photos import PhotoSet


def _subset(values: Sequence[Any], indices: list[int]) -> list[Any]:
    return [values[i] for i in indices]


def evaluate_base(model: Any, processor: Any, photos: PhotoSet, held_out: Sequence[str], batch_size: int = 256) -> dict[str, Any]:
    """Field metrics on key photos of the pretraining keyways and of each held-out keyway, and no-key rates."""
    generations = generate_answers(
        model, processor, [photos.image(i) for i in range(len(photos.labels))], batch_size=batch_size,
        max_new_tokens=MAX_ANSWER_TOKENS, progress=True,
    )
    answers = [parse_fields(g.text) for g in generations]
    truths = photos.labels
    seen = [i for i, t in enumerate(truths) if not t.is_no_key and t.keyway not in held_out]
    keys = [i for i, t in enumerate(truths) if not t.is_no_key]
    no_keys = [i for i, t in enumerate(truths) if t.is_no_key]
    metrics: dict[str, Any] = {"pretrained_keyways": field_metrics(_subset(truths, seen), _subset(answers, seen))}
    for keyway in held_out:
        held = [i for i, t in enumerate(truths) if t.keyway == keyway]
        metrics[f"held_out_{keyway}"] = field_metrics(_subset(truths, held), _subset(answers, held))
    metrics["no_key_recognised"] = round(sum(answers[i].keyway == NO_KEY for i in no_keys) / max(1, len(no_keys)), 4)
    metrics["key_called_no_key"] = round(sum(answers[i].keyway == NO_KEY for i in keys) / max(1, len(keys)), 4)
    metrics["no_key_photos"] = len(no_keys)
    metrics["samples"] = [{"truth": repr(truths[i]), "answer": generations[i].text} for i in range(min(8, len(truths)))]
    return metrics
