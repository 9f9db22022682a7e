"""Training through keylike on the GPU: `train_adapter` on the production profile, every optimiser step timed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from keylike.benchmarks.gpu_profile import prepare_data, production_params
from keylike.benchmarks.stats import steady_rate


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


def benchmark_training(backend: str, model_dir: Path, work: Path, overrides: Sequence[str],
                       params_path: Path | str = "params.yaml") -> dict[str, Any]:
    """Run `train_adapter` with the production profile (plus overrides) and time every optimiser step.

    train_adapter builds its own trainer, so the step timer joins transformers' default callbacks for the
    call and leaves them after it.
    Time to first step counts from the call (model load and data set build included).
    """
    if backend == "unsloth":
        import unsloth  # noqa: F401  (patches transformers and TRL: imported before them)
    import torch
    import transformers.trainer

    from keylike.model.training import TrainConfig, train_adapter

    params = production_params(params_path, [f"train.backend={backend}", f"train.base_model={model_dir}", *overrides])
    data = prepare_data(params, work)
    config = TrainConfig.from_params(params)
    timer, stamps = step_timer()
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    transformers.trainer.DEFAULT_CALLBACKS.append(timer)
    try:
        result = train_adapter(config, split_dir=work / "split", images_dir=work / "ingested", out_dir=work / "adapter",
                               checkpoints_dir=work / "checkpoints")
    finally:
        transformers.trainer.DEFAULT_CALLBACKS.remove(timer)
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
