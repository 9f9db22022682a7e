"""GPU benchmark of the production recipe on one GPU: training with each backend, then inference.

Builds a full-size Gemma 3n E4B with random weights (keylike.model.full_size; nothing is downloaded),
renders synthetic 768 px key photos, and measures what issue 10 asks for. Phases (`--phases`):

- `probe`: one LoRA training step of the production adapter (r=32, alpha 32, attention + MLP) in
  plain PyTorch at several batch sizes, with and without gradient checkpointing: the ceiling a trainer
  can reach, and where the time goes.
- `vision`: the vision tower alone, eager / channels-last / compiled, at batch 1 and batched.
- `generate`: `keylike.model.inference.generate_answers` (the serving path) with each inference
  setting: batch-1 latency of the full answer (p50/p95) and images/s per batch size.
- `cold`: process start to first answer in a fresh process, with `--setting`.
- `train` (alone, one process per backend: unsloth patches transformers): keylike's `train_adapter`
  on the production profile plus `--train-set` overrides, each optimiser step timed.
- `summarize`: combine the JSON of several runs (`--inputs`) into one result with the targets.

    PYTHONUNBUFFERED=1 python -m keylike.benchmarks.gpu --out run.json --phases vision,generate
    python -m keylike.benchmarks.gpu --phases train --backend hf --label hf-bf16-b8 --recipe bf16-b8 \
        --model-dir /tmp/e4b --out train.json --train-set train.load_in_4bit=false --train-set train.batch_size=8
    python -m keylike.benchmarks.gpu --phases summarize --inputs run.json train.json \
        --out metrics/benchmarks/gpu_h200.json

(metrics/benchmarks/gpu_notes.md: the runs behind gpu_h200.json, and what each change did.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from keylike.benchmarks import command_line

PROCESS_START = time.time()

TARGETS = {
    "train_samples_per_s": (">=", 25.0),
    "train_time_to_first_step_s": ("<=", 60.0),
    "train_backend_speedup": (">=", 1.5),
    "infer_batch1_p50_s": ("<=", 0.150),
    "infer_images_per_s": (">=", 100.0),
    "infer_cold_start_s": ("<=", 60.0),
}
"""Issue 10's targets on one H200: metric -> (comparison, bound)."""

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


# ---------------------------------------------------------------- pure helpers (unit-tested on a CPU)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of `values`, linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95, mean, min and count of a list of latencies in seconds."""
    return {
        "p50_s": percentile(seconds, 50),
        "p95_s": percentile(seconds, 95),
        "mean_s": statistics.fmean(seconds),
        "min_s": min(seconds),
        "n": len(seconds),
    }


def steady_rate(step_seconds: Sequence[float], samples_per_step: int, tokens_per_step: int, warmup: int) -> dict[str, float]:
    """Samples/s and tokens/s over the steps after the first `warmup` (median step time: robust to stalls)."""
    steady = list(step_seconds[warmup:])
    if not steady:
        raise ValueError(f"need more than {warmup} steps to measure a steady rate, got {len(step_seconds)}")
    step = statistics.median(steady)
    return {
        "steady_step_s": step,
        "samples_per_s": samples_per_step / step,
        "tokens_per_s": tokens_per_step / step,
        "steady_steps": len(steady),
    }


def check_targets(measured: dict[str, float | None]) -> dict[str, dict[str, Any]]:
    """Each target of TARGETS with its measured value and whether it is met (None: not measured)."""
    report = {}
    for name, (op, bound) in TARGETS.items():
        value = measured.get(name)
        met = None if value is None else (value >= bound if op == ">=" else value <= bound)
        report[name] = {"target": f"{op} {bound:g}", "measured": value, "met": met}
    return report


def merge_results(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`old` updated with `new`, recursively for nested dicts (a later phase adds to earlier results)."""
    merged = dict(old)
    for key, value in new.items():
        merged[key] = merge_results(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def summarize(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One result from several runs of this script: every run kept as is, the best number of each kind, targets.

    Training entries are compared at the same recipe (`recipe` key) for the backend speed-up. A run of
    the `train` phase alone gets its entries' commands and environment as its own.
    """
    runs = [_with_command(run) for run in runs]
    training = {name: entry for run in runs for name, entry in run.get("training", {}).items()}
    generate = {name: entry for run in runs for name, entry in run.get("generate", {}).items() if "batch1" in entry}
    batch1 = {name: entry["batch1"]["p50_s"] for name, entry in generate.items()}
    throughput = {f"{name}@{size}": b["images_per_s"] for name, entry in generate.items()
                  for size, b in entry.get("batches", {}).items() if "images_per_s" in b}
    colds = [run["cold"]["cold_start_s"] for run in runs if "cold_start_s" in run.get("cold", {})]
    rates = {name: entry["samples_per_s"] for name, entry in training.items() if "samples_per_s" in entry}
    by_recipe: dict[str, dict[str, float]] = {}
    for name, entry in training.items():
        if "samples_per_s" in entry and "recipe" in entry:
            by_recipe.setdefault(entry["recipe"], {})[entry["backend"]] = entry["samples_per_s"]
    speedups = {recipe: max(r.values()) / min(r.values()) for recipe, r in by_recipe.items() if len(r) == 2}
    best = {
        "train_samples_per_s": max(rates.values(), default=None),
        "train_time_to_first_step_s": min((e["time_to_first_step_s"] for e in training.values()
                                           if "time_to_first_step_s" in e), default=None),
        "train_backend_speedup": max(speedups.values(), default=None),
        "infer_batch1_p50_s": min(batch1.values(), default=None),
        "infer_images_per_s": max(throughput.values(), default=None),
        "infer_cold_start_s": min(colds, default=None),
    }
    return {
        "runs": list(runs),
        "summary": {"best": best, "train_samples_per_s": rates, "train_backend_speedup_by_recipe": speedups,
                    "infer_batch1_p50_s": batch1, "infer_images_per_s": throughput},
        "targets": check_targets(best),
    }


def _with_command(run: dict[str, Any]) -> dict[str, Any]:
    """`run` with a top-level command and environment, taken from its training entries when it has none."""
    if "command" in run or not run.get("training"):
        return run
    entries = list(run["training"].values())
    return {**run, "command": " ; ".join(e["command"] for e in entries), "environment": entries[0]["environment"]}


# ---------------------------------------------------------------- environment and inputs


def environment() -> dict[str, Any]:
    """GPU, driver, CUDA and package versions of this machine."""
    import importlib.metadata as md

    import torch

    versions = {}
    for name in ("torch", "transformers", "peft", "trl", "accelerate", "timm", "unsloth", "unsloth_zoo", "bitsandbytes"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    gpu = {}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        gpu = {"name": props.name, "memory_gib": round(props.total_memory / 2**30, 1), "sms": props.multi_processor_count,
               "cuda": torch.version.cuda}
        try:
            gpu["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                           capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            gpu["driver"] = None
    return {"gpu": gpu, "python": platform.python_version(), "cpus": os.cpu_count(), "versions": versions}


def synthetic_images(n: int, size: int = 768, seed: int = 3407) -> list[Any]:
    """`n` synthetic key photos at `size` px from keylike's renderer, with their labels."""
    import io

    from PIL import Image

    from keylike.data.rendering import RenderSettings
    from keylike.data.synthesis import keyway_mix_from_codes, synthesize_jpegs
    from keylike.keys import keyway_codes

    pairs = synthesize_jpegs(n, keyway_mix_from_codes(keyway_codes()), seed, RenderSettings(), size)
    return [(Image.open(io.BytesIO(jpeg)).convert("RGB"), label) for label, jpeg in pairs]


def _timed(fn: Callable[[], Any], device: str = "cuda") -> float:
    """Wall time of `fn()`, with the device's queued work finished before and after."""
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


# ---------------------------------------------------------------- phase: training-step probe


def training_batch(processor: Any, samples: Sequence[tuple[Any, Any]], device: str, dtype: Any) -> dict[str, Any]:
    """Inputs and labels of one batch: prompt + answer turns, loss on the answer and `<end_of_turn>`."""
    from keylike.model.dataset import completion_messages, prompt_messages

    texts = [processor.apply_chat_template(prompt_messages() + completion_messages(label), tokenize=False)
             for _, label in samples]
    prompt = processor.apply_chat_template(prompt_messages(), tokenize=False, add_generation_prompt=True)
    batch = processor(text=texts, images=[[image] for image, _ in samples], padding=True, return_tensors="pt")
    prompt_len = processor(text=[prompt], images=[[samples[0][0]]], return_tensors="pt")["input_ids"].shape[1]
    labels = batch["input_ids"].clone()
    labels[:, :prompt_len] = -100
    labels[batch["attention_mask"] == 0] = -100
    return {k: (v.to(device, dtype) if v.is_floating_point() else v.to(device)) for k, v in batch.items()} | {
        "labels": labels.to(device)}


def lora_config(r: int = 32, alpha: int = 32, dropout: float = 0.05) -> Any:
    """The production LoRA on the language model's attention and MLP projections (PEFT)."""
    from peft import LoraConfig

    return LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, bias="none",
        target_modules=r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)",
    )


def probe_training(model: Any, processor: Any, samples: Sequence[tuple[Any, Any]], batch_sizes: Sequence[int],
                   steps: int = 6, checkpointing_modes: Sequence[bool] = (False, True)) -> list[dict[str, Any]]:
    """Step time of LoRA training in plain PyTorch (AdamW, base in its dtype) per batch size and checkpointing."""
    import torch
    from peft import get_peft_model

    device = model.device.type
    peft_model = get_peft_model(model, lora_config())
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4, fused=device == "cuda")
    rows = []
    for checkpointing in checkpointing_modes:
        if checkpointing:
            peft_model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        peft_model.train()
        for batch_size in batch_sizes:
            batch = training_batch(processor, [samples[i % len(samples)] for i in range(batch_size)], device, model.dtype)
            if device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            times, losses = [], []
            try:
                for _ in range(steps):
                    def step() -> None:
                        loss = peft_model(**batch).loss
                        loss.backward()
                        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                        optimizer.step()
                        optimizer.zero_grad(set_to_none=True)
                        losses.append(float(loss))
                    times.append(_timed(step, device))
            except torch.OutOfMemoryError:
                rows.append({"batch_size": batch_size, "checkpointing": checkpointing, "error": "out of memory"})
                optimizer.zero_grad(set_to_none=True)
                torch.cuda.empty_cache()
                continue
            tokens = int(batch["attention_mask"].sum())
            rows.append({"batch_size": batch_size, "checkpointing": checkpointing, "first_step_s": times[0],
                         **steady_rate(times, batch_size, tokens, warmup=2),
                         "peak_gpu_gib": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
                         "losses": losses})
            print("probe", rows[-1], flush=True)
        peft_model.gradient_checkpointing_disable()
    peft_model.eval()
    peft_model.unload()
    return rows


# ---------------------------------------------------------------- phase: training through keylike


def step_timer() -> tuple[Any, list[float]]:
    """A TrainerCallback class recording `time.perf_counter()` at the end of each optimiser step, and that list."""
    from transformers import TrainerCallback

    stamps: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            import torch

            if torch.cuda.is_available():
                torch.cuda.synchronize()
            stamps.append(time.perf_counter())

    return StepTimer, stamps


def benchmark_training(backend: str, model_dir: Path, work: Path, overrides: Sequence[str]) -> dict[str, Any]:
    """Run `train_adapter` with the production profile (plus overrides) and time every optimiser step.

    train_adapter builds its own trainer, so the step timer joins transformers' default callbacks.
    Time to first step counts from the call (model load and data set build included).
    """
    from keylike.benchmarks.gpu_proof import prepare_data, production_params

    if backend == "unsloth":
        import unsloth  # noqa: F401  (patches transformers and TRL: imported before them)
    import torch
    import transformers.trainer

    from keylike.model.training import TrainConfig, train_adapter

    params = production_params("params.yaml", [f"train.backend={backend}", f"train.base_model={model_dir}", *overrides])
    data = prepare_data(params, work)
    config = TrainConfig.from_params(params)
    timer, stamps = step_timer()
    transformers.trainer.DEFAULT_CALLBACKS.append(timer)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    result = train_adapter(config, split_dir=work / "split", images_dir=work / "ingested", out_dir=work / "adapter",
                           checkpoints_dir=work / "checkpoints")
    samples = config.batch_size * config.grad_accum
    steps = [b - a for a, b in zip(stamps, stamps[1:])]
    processor_tokens = _tokens_per_sample(model_dir)
    return {
        "backend": backend,
        "overrides": list(overrides),
        "train_params": params["train"],
        "data": data,
        "time_to_first_step_s": stamps[0] - started,
        "step_times_s": steps,
        **steady_rate(steps, samples, samples * processor_tokens, warmup=1),
        "tokens_per_sample": processor_tokens,
        "peak_gpu_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
        "loss_by_step": [e["loss"] for e in result.history if "loss" in e],
        "metrics": result.metrics,
    }


def _tokens_per_sample(model_dir: Path) -> int:
    """Tokens of one training sample: the chat-templated prompt with its 256 image tokens plus an answer."""
    from transformers import AutoProcessor

    from keylike.keys import KeyLabel
    from keylike.model.dataset import completion_messages, prompt_messages
    from keylike.model.loading import resolve_base_model

    processor = AutoProcessor.from_pretrained(resolve_base_model(str(model_dir)))
    label = KeyLabel("SC1", (1, 2, 5, 3, 7), "Schlage")
    text = processor.apply_chat_template(prompt_messages() + completion_messages(label), tokenize=False)
    return len(processor.tokenizer(text.replace(processor.image_token, processor.full_image_sequence))["input_ids"])


# ---------------------------------------------------------------- inference


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
                warm = _timed(lambda: model.model.get_image_features(pixels))
                times = [_timed(lambda: model.model.get_image_features(pixels)) for _ in range(repeats)]
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


# ---------------------------------------------------------------- driver


def _write(path: Path, results: dict[str, Any]) -> None:
    from keylike.io import write_json

    write_json(path, results)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m keylike.benchmarks.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("metrics/benchmarks/gpu_h200.json"))
    parser.add_argument("--phases", default="probe,vision,generate,cold")
    parser.add_argument("--model-dir", type=Path, default=Path("/tmp/gemma-3n-e4b-random"))
    parser.add_argument("--settings", default="dynamic,static-cudagraphs,static-cudagraphs-vision")
    parser.add_argument("--setting", default="static-cudagraphs-vision", help="setting of `cold` and `first-answer`")
    parser.add_argument("--probe-batches", default="8,16,32")
    parser.add_argument("--vision-forms", default=",".join(VISION_FORMS))
    parser.add_argument("--generate-batches", default="8,32,64,128")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--backend", default="hf", help="backend of the `train` phase (run alone, one process each)")
    parser.add_argument("--label", default="hf", help="name of the `train` phase's result")
    parser.add_argument("--work", default="/tmp/keylike-train-bench", help="scratch folder of the `train` phase")
    parser.add_argument("--train-set", action="append", default=[], metavar="BLOCK.KEY=VALUE",
                        help="override of the production profile for the `train` phase")
    parser.add_argument("--inputs", nargs="*", default=[], help="run results the `summarize` phase combines")
    parser.add_argument("--recipe", default="", help="recipe name of the `train` phase (backends compared per recipe)")
    parser.add_argument("--budget-s", type=float, default=540.0, help="skip phases that would start after this")
    args = parser.parse_args(argv)
    phases = args.phases.split(",")

    if phases == ["summarize"]:
        _write(args.out, summarize([json.loads(Path(p).read_text()) for p in args.inputs]))
        return
    if phases == ["train"]:
        entry = benchmark_training(args.backend, args.model_dir, Path(args.work), args.train_set) | {"recipe": args.recipe}
        new = {"training": {args.label: entry | {"command": command_line("keylike.benchmarks.gpu", argv), "environment": environment()}}}
        results = json.loads(args.out.read_text()) if args.out.is_file() else {}
        _write(args.out, merge_results(results, new))
        print("train", args.label, {k: v for k, v in new["training"][args.label].items() if k not in ("train_params", "metrics")})
        return
    if phases == ["first-answer"]:
        print(json.dumps({"process_start": PROCESS_START}))
        print(json.dumps(first_answer(args.model_dir, SETTINGS[args.setting])))
        return

    import torch

    deadline = PROCESS_START + args.budget_s
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results = merge_results(results, {"command": command_line("keylike.benchmarks.gpu", argv), "environment": environment()})
    from keylike.model.full_size import build_model, build_processor, save_full_size

    started = time.perf_counter()
    model = build_model()
    torch.cuda.synchronize()
    processor = build_processor()
    results["model"] = {"build_s": time.perf_counter() - started, "parameters": sum(p.numel() for p in model.parameters()),
                        "dtype": "bfloat16", "image_size": 768, "image_tokens": 256}
    started = time.perf_counter()
    samples = synthetic_images(64)
    results["model"]["render_64_images_s"] = time.perf_counter() - started
    images = [image for image, _ in samples]
    _write(args.out, results)
    print("model", results["model"], flush=True)

    if "cold" in phases and not (args.model_dir / "config.json").is_file():
        started = time.perf_counter()
        save_full_size(args.model_dir, model, processor)
        results["model"]["save_s"] = time.perf_counter() - started

    if "probe" in phases and time.time() < deadline:
        results["probe"] = probe_training(model, processor, samples, [int(b) for b in args.probe_batches.split(",")])
        torch.cuda.empty_cache()
        _write(args.out, results)
    if "vision" in phases and time.time() < deadline:
        results["vision"] = time_vision(model, args.vision_forms.split(","), [1, 32])
        _write(args.out, results)
    if "generate" in phases:
        results.setdefault("generate", {})
        for name in args.settings.split(","):
            if time.time() > deadline:
                results["generate"][name] = {"skipped": "time budget"}
                continue
            baseline = SETTINGS[name].compile_backend is None  # seconds per answer: fewer, smaller runs
            batches = [int(b) for b in args.generate_batches.split(",") if b]
            results["generate"][name] = time_generation(model, processor, images, SETTINGS[name],
                                                        batches[-2:-1] if baseline else batches,
                                                        min(args.repeats, 3) if baseline else args.repeats, deadline)
            _write(args.out, results)
    if "cold" in phases and time.time() < deadline:
        del model
        torch.cuda.empty_cache()
        results["cold"] = cold_start(args.model_dir, args.setting)
        print("cold", results["cold"], flush=True)
        _write(args.out, results)
    print(json.dumps(results, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
