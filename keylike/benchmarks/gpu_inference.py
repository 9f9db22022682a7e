"""Inference on the GPU: vision tower forms, generation settings (KV cache, compiled decode), cold start."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from keylike.benchmarks import PROCESS_START
from keylike.benchmarks.gpu_inputs import synthetic_images, timed
from keylike.evaluation.latency import latency_summary

ANSWER_TOKENS = 21
"""New tokens of a full answer: `KEYWAY: SC1\\nBITTING: 1,2,5,3,7\\nBRAND: Schlage` is 20 tokens with the
full-size tokenizer, plus `<end_of_turn>`; a random model never stops early, so every answer is full."""


@dataclass(frozen=True)
class InferenceSetting:
    """How `generate` runs: KV cache, compilation of the decode step, the vision tower's form."""

    name: str
    cache_implementation: str | None = None
    """`None` (transformers' dynamic cache) or `static` (fixed shapes: the decode step can be compiled)."""
    compile_backend: str | None = None
    """torch.compile backend of the decode step with a static cache: `cudagraphs` (graph capture of the
    eager kernels, seconds to build) or `inductor` (fused kernels + CUDA graphs, minutes to build)."""
    vision: str = "eager"
    """Vision tower form, a key of VISION_FORMS."""


SETTINGS = {
    s.name: s
    for s in (
        InferenceSetting("dynamic"),
        InferenceSetting("static-cudagraphs", "static", "cudagraphs"),
        InferenceSetting("static-cudagraphs-vision", "static", "cudagraphs", "graphs"),
        InferenceSetting("static-inductor", "static", "inductor"),
        InferenceSetting("static-inductor-vision", "static", "inductor", "compiled"),
    )
}
"""Inference settings measured by the `generate` phase, by name."""


VISION_FORMS = {
    "eager": None,
    "channels_last": None,
    "graphs": {"backend": "cudagraphs"},
    "compiled": {"mode": "reduce-overhead"},
}
"""Vision tower forms: torch.compile arguments of its `forward_features` (None: not compiled). Every
form but `eager` runs in channels-last memory format (MobileNetV5 is convolutions)."""


def prepare_vision(model: Any, form: str) -> None:
    """Put the vision tower in `form` (a key of VISION_FORMS); `eager` restores the original."""
    import torch

    timm_model = model.model.vision_tower.timm_model
    original = timm_model.__dict__.pop("forward_features", None)
    if original is not None:
        timm_model.to(memory_format=torch.contiguous_format)
    if form == "eager":
        return
    timm_model.to(memory_format=torch.channels_last)
    forward = timm_model.forward_features

    def channels_last(pixel_values: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        return forward(pixel_values.contiguous(memory_format=torch.channels_last), **kwargs)

    compile_args = VISION_FORMS[form]
    timm_model.forward_features = torch.compile(channels_last, dynamic=False, **compile_args) if compile_args else channels_last


def time_vision(model: Any, forms: Sequence[str], batch_sizes: Sequence[int], repeats: int = 10) -> list[dict[str, Any]]:
    """Median time of the vision tower (image features incl. the embedder) per form and batch size."""
    import torch

    rows = []
    for form in forms:
        prepare_vision(model, form)
        for batch_size in batch_sizes:
            pixels = torch.rand(batch_size, 3, 768, 768, device="cuda", dtype=torch.bfloat16)
            with torch.inference_mode():
                warm = timed(lambda: model.model.get_image_features(pixels))
                times = [timed(lambda: model.model.get_image_features(pixels)) for _ in range(repeats)]
            rows.append({"form": form, "batch_size": batch_size, "first_call_s": warm, "median_s": statistics.median(times),
                         "images_per_s": batch_size / statistics.median(times)})
            print("vision", rows[-1], flush=True)
    prepare_vision(model, "eager")
    return rows


def apply_setting(model: Any, setting: InferenceSetting) -> None:
    """Configure `model` for `setting` (compile config of the decode step, vision tower form)."""
    import torch
    from transformers import CompileConfig

    torch._dynamo.reset()
    torch._dynamo.config.cache_size_limit = 64
    if hasattr(model, "_compiled_call"):
        del model._compiled_call
    # dynamic=None (automatic): the 2D attention mask grows by one column per step, so a static-shape
    # graph recompiles at every step (seen: 35 s per step); automatic dynamic recompiles once
    model.generation_config.compile_config = (
        CompileConfig(backend=setting.compile_backend, mode="reduce-overhead" if setting.compile_backend == "inductor" else "default",
                      fullgraph=False, dynamic=None)
        if setting.compile_backend else None
    )
    prepare_vision(model, setting.vision)


def time_generation(model: Any, processor: Any, images: Sequence[Any], setting: InferenceSetting,
                    batch_sizes: Sequence[int], repeats: int, deadline: float) -> dict[str, Any]:
    """Warm-up time, batch-1 latency (p50/p95) and images/s per batch size through `generate_answers`."""
    from keylike.model.inference import generate_answers

    apply_setting(model, setting)

    def run(batch: Sequence[Any]) -> float:
        started = time.perf_counter()
        answers = generate_answers(model, processor, batch, batch_size=len(batch), max_new_tokens=ANSWER_TOKENS,
                                   cache_implementation=setting.cache_implementation)
        assert all(len(a.token_ids) >= 1 for a in answers)
        return time.perf_counter() - started

    result: dict[str, Any] = {"setting": asdict(setting), "batches": {}}
    started = time.perf_counter()
    run(images[:1])
    result["first_call_s"] = time.perf_counter() - started
    result["warm_calls_s"] = [run(images[:1]) for _ in range(2)]
    latencies = []
    for i in range(repeats):
        if time.time() > deadline:
            break
        latencies.append(run(images[i % len(images) : i % len(images) + 1]))
    result["batch1"] = latency_summary(latencies or result["warm_calls_s"])
    print("generate", setting.name, "batch1", result["first_call_s"], result["batch1"], flush=True)
    for batch_size in batch_sizes:
        if time.time() > deadline:
            result["batches"][str(batch_size)] = {"skipped": "time budget"}
            continue
        batch = [images[i % len(images)] for i in range(batch_size)]
        first = run(batch)
        times = [run(batch) for _ in range(2)]
        best = min(times)
        result["batches"][str(batch_size)] = {"first_call_s": first, "times_s": times, "images_per_s": batch_size / best}
        print("generate", setting.name, batch_size, result["batches"][str(batch_size)], flush=True)
    return result


def first_answer(model_dir: Path, setting: InferenceSetting) -> dict[str, Any]:
    """Load the saved model and answer one image with `setting`: the work of a cold start."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from keylike.model.inference import generate_answers

    stamps = {"imports_s": time.time() - PROCESS_START}
    model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch.bfloat16, device_map="cuda").eval()
    processor = AutoProcessor.from_pretrained(model_dir)
    stamps["loaded_s"] = time.time() - PROCESS_START
    apply_setting(model, setting)
    image = synthetic_images(1)[0][0]
    answer = generate_answers(model, processor, [image], batch_size=1, max_new_tokens=ANSWER_TOKENS,
                              cache_implementation=setting.cache_implementation)[0]
    stamps["first_answer_s"] = time.time() - PROCESS_START
    second = generate_answers(model, processor, [image], batch_size=1, max_new_tokens=ANSWER_TOKENS,
                              cache_implementation=setting.cache_implementation)[0]
    stamps["second_answer_latency_s"] = second.latency_s
    stamps["answer_tokens"] = len(answer.token_ids)
    return stamps


def cold_start(model_dir: Path, setting: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `first_answer` in a fresh Python process; the time from spawning it to its first answer."""
    spawned = time.time()
    proc = subprocess.run([sys.executable, "-m", "keylike.benchmarks.gpu", "--phases", "first-answer",
                           "--model-dir", str(model_dir), "--setting", setting],
                          capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    stamps = json.loads(proc.stdout.strip().splitlines()[-1])
    start_offset = json.loads(proc.stdout.strip().splitlines()[-2])["process_start"] - spawned
    return {"setting": setting, "cold_start_s": stamps["first_answer_s"] + start_offset, **stamps}
