"""The `train` block of params.yaml: TrainConfig, checked at load (names transformers accepts included)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from keylike.config import base_seed, check, config_from_block
from keylike.errors import ConfigError
from keylike.model.adapter import AdapterInfo

BACKENDS = ("hf", "unsloth")


LORA_SCOPES = ("language", "projection", "encoder")


@dataclass(frozen=True)
class TrainConfig:
    """The `train` block of params.yaml (plus `base.seed`)."""

    # model
    backend: str
    """`hf` (transformers + PEFT + TRL, CPU or GPU) or `unsloth` (FastVisionModel, GPU only)."""
    base_model: str
    """`tiny` (the embedded tiny Gemma 3n), a local model folder, or a hub id already on disk."""
    image_size: int
    """Side in pixels every image is resized to before the vision encoder (768 for Gemma 3n)."""
    load_in_4bit: bool
    """Load the base weights in 4-bit NF4 (QLoRA); merge always uses the 16-bit base."""
    # LoRA
    lora_r: int
    """LoRA rank."""
    lora_alpha: int
    """LoRA scaling numerator (scale = alpha / r)."""
    lora_dropout: float
    """Dropout on the LoRA input."""
    lora_scope: str
    """What LoRA adapts: `language` (text attention + MLP), `projection` (+ the vision-to-text
    projection), `encoder` (+ MobileNetV5's convolutions, through PEFT's Conv2d LoRA)."""
    # optimisation
    learning_rate: float
    """Peak learning rate."""
    lr_scheduler: str
    """transformers scheduler name (`cosine`, `linear`, `constant`, ...)."""
    warmup_ratio: float
    """Share of the steps spent warming the learning rate up."""
    epochs: float
    """Passes over the train split (ignored when max_steps is set)."""
    batch_size: int
    """Images per step over all processes (each of `processes` takes batch_size / processes)."""
    grad_accum: int
    """Steps accumulated per optimiser step (effective batch = batch_size * grad_accum)."""
    optim: str
    """transformers optimiser name (`adamw_torch`, `adamw_8bit`, ...)."""
    weight_decay: float
    """Weight decay."""
    max_grad_norm: float
    """Gradient clipping norm."""
    precision: str
    """Training precision: `fp32`, `bf16` or `fp16`."""
    gradient_checkpointing: bool
    """Recompute activations in the backward pass: less memory, about 20% slower (unsloth's own kind
    on the unsloth backend). Off for the tiny model, on for Gemma 3n E4B."""
    seed: int
    """Seed of LoRA init, shuffling and dropout (from base.seed)."""
    modules_to_save: tuple[str, ...] = ()
    """Modules trained in full next to LoRA and saved with the adapter (e.g. `embed_vision`)."""
    encoder_layers: str | None = None
    """With `lora_scope: encoder`, a regex picking which of the vision encoder's convolutions LoRA adapts
    (searched in the module name, e.g. `layer[34]\\.` for a ResNet's last two stages); None: all of them.
    The backward pass then stops at the first adapted layer: the earlier ones cost a forward pass only."""
    max_steps: int | None = None
    """Optimiser steps to run; None trains for `epochs`."""
    logging_steps: int = 10
    """Log train loss and learning rate every this many steps."""
    eval_steps: int = 50
    """Evaluate on the val split every this many steps (and once at the end)."""
    save_steps: int = 50
    """Write a resumable checkpoint every this many steps."""
    cpu_threads: int = 1
    """Torch threads on a CPU (keylike.numerics.set_cpu_threads: the same count, the same bytes on any machine)."""
    dataloader_workers: int = 0
    """Processes that load and collate batches while the GPU steps; 0 collates in the training process
    (8-16 images of 768 px per step: ~0.2 s per step on the H200 machine)."""
    processes: int = 1
    """Training processes (DDP through `accelerate launch`: one per GPU, or gloo on a CPU). Above 1 the
    train command starts them itself; batch_size stays the global batch, so the steps and the schedule
    do not change with it."""
    compile_layers: bool = False
    """torch.compile each decoder layer in place (regional compilation: one compile per distinct layer,
    fused kernels for Gemma 3n's many small ops); the hf backend, on a GPU."""

    def __post_init__(self) -> None:
        check(self.backend in BACKENDS, "train.backend", f"must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        check(self.lora_scope in LORA_SCOPES, "train.lora_scope", f"must be one of {', '.join(LORA_SCOPES)}, got {self.lora_scope!r}")
        check(self.precision in ("fp32", "bf16", "fp16"), "train.precision", f"must be fp32, bf16 or fp16, got {self.precision!r}")
        check(self.image_size >= 32, "train.image_size", f"must be >= 32, got {self.image_size}")
        check(self.lora_r > 0, "train.lora_r", f"must be > 0, got {self.lora_r}")
        check(self.lora_alpha > 0, "train.lora_alpha", f"must be > 0, got {self.lora_alpha}")
        check(0 <= self.lora_dropout < 1, "train.lora_dropout", f"must be in [0, 1), got {self.lora_dropout}")
        check(self.learning_rate > 0, "train.learning_rate", f"must be > 0, got {self.learning_rate}")
        check(0 <= self.warmup_ratio < 1, "train.warmup_ratio", f"must be in [0, 1), got {self.warmup_ratio}")
        check(self.epochs > 0, "train.epochs", f"must be > 0, got {self.epochs}")
        check(self.max_steps is None or self.max_steps > 0, "train.max_steps", f"must be > 0 or null, got {self.max_steps}")
        for key in ("batch_size", "grad_accum", "logging_steps", "eval_steps", "save_steps", "cpu_threads", "processes"):
            check(getattr(self, key) > 0, f"train.{key}", f"must be > 0, got {getattr(self, key)}")
        if self.encoder_layers is not None:
            try:
                re.compile(self.encoder_layers)
            except re.error as error:
                raise ConfigError(f"train.encoder_layers: {self.encoder_layers!r} is not a regex ({error})") from None
            check(self.lora_scope == "encoder", "train.encoder_layers", "applies to lora_scope encoder; set it to null")
        check(self.batch_size % self.processes == 0, "train.batch_size",
              f"({self.batch_size}) must be divisible by train.processes ({self.processes}): each process takes an equal share")
        check(not (self.processes > 1 and self.backend != "hf"), "train.processes",
              "above 1 needs backend hf (DDP through accelerate); unsloth trains in one process: set train.backend: hf")
        check(self.dataloader_workers >= 0, "train.dataloader_workers", f"must be >= 0, got {self.dataloader_workers}")
        check(not (self.compile_layers and self.backend != "hf"), "train.compile_layers",
              "is for the hf backend (unsloth compiles its own kernels); set it to false")
        check(self.weight_decay >= 0, "train.weight_decay", f"must be >= 0, got {self.weight_decay}")
        check(self.max_grad_norm > 0, "train.max_grad_norm", f"must be > 0, got {self.max_grad_norm}")
        check(not (self.load_in_4bit and self.precision == "fp32"), "train.load_in_4bit", "needs precision bf16 or fp16")
        schedulers, optimizers = trainer_choices()
        check(self.lr_scheduler in schedulers, "train.lr_scheduler",
              f"must be one of transformers' schedulers ({', '.join(schedulers)}), got {self.lr_scheduler!r}")
        check(self.optim in optimizers, "train.optim",
              f"must be one of transformers' optimisers ({', '.join(optimizers)}), got {self.optim!r}")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TrainConfig:
        """Build from params.yaml: the `train` block and `base.seed`."""
        return config_from_block(cls, params, "train", seed=base_seed(params))

    def adapter_info(self) -> AdapterInfo:
        """What the adapter folder records about this training (read by merge and export)."""
        return AdapterInfo(self.backend, self.base_model, self.image_size, self.load_in_4bit, self.lora_scope)


@functools.cache
def trainer_choices() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The scheduler and optimiser names transformers' Trainer accepts (checked at load, not 15 s into training)."""
    from transformers.trainer_utils import SchedulerType
    from transformers.training_args import OptimizerNames

    return tuple(s.value for s in SchedulerType), tuple(o.value for o in OptimizerNames)
