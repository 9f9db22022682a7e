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


def import_backend_first(backend: str) -> None:
    """Import unsloth when it is the backend: it patches transformers and TRL, so it must come before them."""
    if backend == "unsloth":
        import unsloth  # noqa: F401


def training_params(backend: str, model_dir: Path, overrides: Sequence[str], params_path: Path | str = "params.yaml",
                    profile: str = "production") -> dict[str, Any]:
    """A GPU profile's params with this backend, base model folder and `--train-set` overrides."""
    return production_params(params_path, [f"train.backend={backend}", f"train.base_model={model_dir}", *overrides], profile)


def benchmark_training(params: dict[str, Any], work: Path, overrides: Sequence[str], profile: str) -> dict[str, Any] | None:
    """Run `train_adapter` with `params` (training_params: a GPU profile plus `overrides`, recorded with the
    result) and time every optimiser step.

    train_adapter builds its own trainer, so the step timer joins transformers' default callbacks for the
    call and leaves them after it.
    Time to first step counts from the call (model load and data set build included).
    In a run of several processes (`train.processes`, under accelerate launch) the first one renders the
    data while the others wait, and only it returns the result (samples/s of the global batch); the others
    return None.
    """
    backend, model_dir = params["train"]["backend"], Path(params["train"]["base_model"])
    import_backend_first(backend)
    import torch
    import transformers.trainer
    from accelerate import PartialState

    from keylike.model.training import TrainConfig, train_adapter

    state = PartialState()
    with state.main_process_first():
        data = prepare_data(params, work) if state.is_main_process else {}
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
    if result is None:
        return None
    samples = config.batch_size * config.grad_accum
    steps = [b - a for a, b in zip(stamps, stamps[1:])]
    processor_tokens = _tokens_per_sample(model_dir)
    return {
        "backend": backend,
        "profile": profile,
        "overrides": list(overrides),
        "train_params": params["train"],
        "data": data,
        "time_to_first_step_s": stamps[0] - started,
        "step_times_s": steps,
        **steady_rate(steps, samples, samples * processor_tokens, warmup=1),
        "tokens_per_sample": processor_tokens,
        "processes": config.processes,
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
