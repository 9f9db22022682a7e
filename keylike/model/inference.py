"""Batched greedy generation with the probability of every generated token.

One API for the benchmark, export parity checks and serving:
`generate_answers(model, processor, images, batch_size=..., max_new_tokens=...) -> list[Generation]`.
The prompt is one user turn holding the image and keylike.keys.INSTRUCTION, rendered with the
processor's chat template (the same turn the model is trained on), followed by the generation prompt.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from tqdm import tqdm

from keylike.errors import ConfigError
from keylike.keys import INSTRUCTION, MAX_ANSWER_TOKENS
from keylike.model.grammar import AnswerGrammar

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class Generation:
    """One generated answer, token by token."""

    text: str
    """The answer, decoded without special tokens."""
    token_ids: tuple[int, ...]
    """Generated token ids, up to and including the stop token (padding after it removed)."""
    token_probs: tuple[float, ...]
    """Probability the model gave each generated token: the softmax, at the calibration temperature, of its
    logits over the tokens the answer grammar allows there (all tokens without the grammar)."""
    token_spans: tuple[tuple[int, int], ...]
    """Character span [start, end) of each token in `text` (empty for special tokens)."""
    latency_s: float
    """Wall time of the batch this answer was generated in: what a caller waited for it."""


def load_for_inference(model_dir: Path | str, device: str = "auto", dtype: str = "auto") -> tuple[Any, Any]:
    """(model in eval mode, processor) saved in `model_dir` (e.g. by the merge stage).

    `device` auto is CUDA when available, else CPU; `dtype` auto is bfloat16 on CUDA, float32 on CPU.
    """
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    if device not in DEVICES or dtype not in DTYPES:
        raise ConfigError(f"device must be one of {DEVICES} and dtype one of {DTYPES}, got {device!r}, {dtype!r}")
    if not (Path(model_dir) / "config.json").is_file():
        raise ConfigError(
            f"model folder {model_dir} has no config.json; pass a merged model "
            "(data/models/merged after `dvc repro merge`)"
        )
    device = device if device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = dtype if dtype != "auto" else ("bfloat16" if device == "cuda" else "float32")
    model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=getattr(torch, dtype)).to(device).eval()
    return model, AutoProcessor.from_pretrained(model_dir)


def prompt_messages() -> list[dict[str, Any]]:
    """The chat turn sent with every image: the image, then the fixed instruction."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": INSTRUCTION}]}]


def build_prompt(processor: Any) -> str:
    """The prompt text (chat template applied, generation prompt appended) for one image."""
    return processor.apply_chat_template(prompt_messages(), tokenize=False, add_generation_prompt=True)


def stop_token_ids(model: Any, processor: Any) -> set[int]:
    """Ids that end an answer: the generation config's eos ids and the tokenizer's eos id."""
    eos = model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, (list, tuple)) else [eos] if eos is not None else [])
    if processor.tokenizer.eos_token_id is not None:
        ids.add(processor.tokenizer.eos_token_id)
    return ids


AUTO_CACHE = "auto"
"""`cache_implementation` value that picks the fastest measured KV cache for the model's device."""


def resolve_cache_implementation(requested: str | None, device_type: str) -> str | None:
    """`auto` is `static` on CUDA and the dynamic default (None) elsewhere; other values pass through.

    With a static cache transformers compiles the decode step (inductor, CUDA graphs): one answer of
    21 tokens from the full-size Gemma 3n E4B took 0.33 s instead of 1.9 s on an H200, after a one-off
    compile of about 2.5 minutes per batch shape (metrics/benchmarks/gpu_h200.json). Worth it for a
    server, not for a one-off answer; on a CPU nothing is compiled, so `auto` keeps the default there.
    """
    if requested != AUTO_CACHE:
        return requested
    return "static" if device_type == "cuda" else None


def generate_answers(
    model: Any,
    processor: Any,
    images: Sequence[Image.Image],
    *,
    batch_size: int = 8,
    max_new_tokens: int = MAX_ANSWER_TOKENS,
    cache_implementation: str | None = None,
    temperature: float = 1.0,
    grammar: bool = True,
    progress: bool = False,
) -> list[Generation]:
    """Greedy answers to the fixed prompt for each image, in order, with per-token probabilities.

    `cache_implementation`: None (transformers' dynamic cache), `static`, or `auto` (see
    `resolve_cache_implementation`). `temperature` scales the logits the probabilities are computed
    from (the model's calibration, keylike.evaluation.threshold); greedy answers do not depend on it.
    `grammar`: decode inside the answer grammar (keylike.model.grammar) when the tokenizer allows it.
    """
    return generate_at_temperatures(
        model, processor, images, (temperature,), batch_size=batch_size, max_new_tokens=max_new_tokens,
        cache_implementation=cache_implementation, grammar=grammar, progress=progress,
    )[temperature]


def generate_at_temperatures(
    model: Any,
    processor: Any,
    images: Sequence[Image.Image],
    temperatures: Sequence[float],
    *,
    batch_size: int = 8,
    max_new_tokens: int = MAX_ANSWER_TOKENS,
    cache_implementation: str | None = None,
    grammar: bool = True,
    progress: bool = False,
) -> dict[float, list[Generation]]:
    """`generate_answers` once, with the token probabilities at each of `temperatures` (the same answers)."""
    if not temperatures or min(temperatures) <= 0:
        raise ValueError(f"temperatures must be > 0, got {tuple(temperatures)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    cache_implementation = resolve_cache_implementation(cache_implementation, model.device.type)
    prompt = build_prompt(processor)
    stops = stop_token_ids(model, processor)
    grammar = grammar and AnswerGrammar.supports(processor.tokenizer)
    results: dict[float, list[Generation]] = {t: [] for t in temperatures}
    for start in tqdm(range(0, len(images), batch_size), desc="generate", unit="batch", disable=not progress):
        batch = [image.convert("RGB") for image in images[start : start + batch_size]]
        for temperature, generations in _generate_batch(
            model, processor, prompt, batch, max_new_tokens, cache_implementation, stops, tuple(temperatures), grammar
        ).items():
            results[temperature].extend(generations)
    return results


def _synchronize(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _generate_batch(
    model: Any,
    processor: Any,
    prompt: str,
    images: list[Image.Image],
    max_new_tokens: int,
    cache_implementation: str | None,
    stops: set[int],
    temperatures: tuple[float, ...],
    grammar: bool,
) -> dict[float, list[Generation]]:
    import torch

    device = model.device
    _synchronize(device)
    started = time.perf_counter()
    # left padding: each answer continues its own prompt's last token
    inputs = processor(
        text=[prompt] * len(images), images=[[image] for image in images], padding=True, padding_side="left",
        return_tensors="pt",
    )
    inputs = {
        name: value.to(device, dtype=model.dtype) if value.is_floating_point() else value.to(device)
        for name, value in inputs.items()
    }
    extra: dict[str, Any] = {"cache_implementation": cache_implementation} if cache_implementation else {}
    if grammar:
        from transformers import LogitsProcessorList

        extra["logits_processor"] = LogitsProcessorList(
            [AnswerGrammar(processor.tokenizer, inputs["input_ids"].shape[1], stops)]
        )
    with torch.inference_mode():
        output = model.generate(
            **inputs,
            do_sample=False,
            max_new_tokens=max_new_tokens,
            return_dict_in_generate=True,
            output_scores=True,
            **extra,
        )
    _synchronize(device)
    latency = time.perf_counter() - started
    new_tokens = output.sequences[:, inputs["input_ids"].shape[1] :]
    # the scores after the grammar: tokens it rules out are -inf, so the softmax spreads over the allowed ones
    scores = torch.stack(output.scores, dim=1).float()  # (batch, steps, vocab)
    results = {}
    for temperature in temperatures:
        probs = torch.softmax(scores / temperature, dim=-1).gather(-1, new_tokens.unsqueeze(-1)).squeeze(-1)
        results[temperature] = [
            _to_generation(processor.tokenizer, ids.tolist(), p.tolist(), stops, latency)
            for ids, p in zip(new_tokens, probs)
        ]
    return results


def _to_generation(tokenizer: Any, ids: list[int], probs: list[float], stops: set[int], latency: float) -> Generation:
    """Cut the tokens after the first stop token, decode, and find each token's span in the text."""
    end = next((i + 1 for i, token in enumerate(ids) if token in stops), len(ids))
    ids, probs = ids[:end], probs[:end]
    text = tokenizer.decode(ids, skip_special_tokens=True)
    spans, previous = [], 0
    for k in range(1, len(ids) + 1):
        length = min(max(len(tokenizer.decode(ids[:k], skip_special_tokens=True)), previous), len(text))
        spans.append((previous, length))
        previous = length
    return Generation(text, tuple(ids), tuple(probs), tuple(spans), latency)
