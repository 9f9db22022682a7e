"""LoRA fine-tuning of Gemma 3n with TRL's SFTTrainer, through one of two backends.

- `hf`: transformers `AutoModelForImageTextToText` + PEFT `LoraConfig` + TRL's vision collator on
  prompt/completion rows (loss on the completion only). Runs on a CPU and on a GPU.
- `unsloth`: `FastVisionModel` + `UnslothVisionDataCollator` on `messages` rows with
  `train_on_responses_only` on Gemma's turn markers. GPU only (unsloth is the `gpu` extra).

Both share TrainConfig, the prompt, the target, what LoRA adapts (`lora_scope`), checkpoints with
resume, and the metrics and plots written at the end.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import resource
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from keylike.config import base_seed, check, config_from_block
from keylike.errors import ConfigError, KeylikeError
from keylike.io import atomic_directory, atomic_write_text, write_json
from keylike.model.dataset import INSTRUCTION_PART, RESPONSE_PART, RowFormat, build_dataset, read_split
from keylike.model.loading import load_base_model, resolve_base_model, set_image_size, torch_dtype

BACKENDS = ("hf", "unsloth")
LORA_SCOPES = ("language", "projection", "encoder")
TRAIN_INFO_NAME = "keylike_train.json"
"""File in the adapter folder naming the base model and how the adapter was trained (read by merge)."""
CHECKPOINT_STATE_NAME = "keylike_checkpoints.json"
"""File in the checkpoints folder with the run fingerprint (a checkpoint of other params is not resumed)."""

_LANGUAGE_TARGETS = r"model\.language_model\.layers\.\d+\.(?:self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)"
_PROJECTION_TARGETS = r"model\.embed_vision\.embedding_projection"
_ENCODER_PREFIX = "model.vision_tower."


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
    """Images per device step."""
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
    max_steps: int | None = None
    """Optimiser steps to run; None trains for `epochs`."""
    logging_steps: int = 10
    """Log train loss and learning rate every this many steps."""
    eval_steps: int = 50
    """Evaluate on the val split every this many steps (and once at the end)."""
    save_steps: int = 50
    """Write a resumable checkpoint every this many steps."""
    cpu_threads: int = 1
    """Torch threads on a CPU; 1 keeps runs bit-identical and leaves cores to the rest of the pipeline."""
    dataloader_workers: int = 0
    """Processes that load and collate batches while the GPU steps; 0 collates in the training process
    (8-16 images of 768 px per step: ~0.2 s per step on the H200 machine)."""
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
        for key in ("batch_size", "grad_accum", "logging_steps", "eval_steps", "save_steps", "cpu_threads"):
            check(getattr(self, key) > 0, f"train.{key}", f"must be > 0, got {getattr(self, key)}")
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


@functools.cache
def trainer_choices() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The scheduler and optimiser names transformers' Trainer accepts (checked at load, not 15 s into training)."""
    from transformers.trainer_utils import SchedulerType
    from transformers.training_args import OptimizerNames

    return tuple(s.value for s in SchedulerType), tuple(o.value for o in OptimizerNames)


@dataclass
class TrainResult:
    """What a training run reports: summary metrics and the trainer's log history."""

    metrics: dict[str, Any]
    """Final train and eval loss, steps, samples/s, peak memory, trainable params, wall time."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """One dict per log event (`step` plus `loss`, `learning_rate`, `eval_loss`, ...)."""

    def write(self, metrics_path: Path | str, plots_dir: Path | str) -> None:
        """Write metrics JSON and one `step<TAB>value` TSV per curve (loss, eval_loss, learning_rate)."""
        write_json(metrics_path, self.metrics)
        with atomic_directory(plots_dir) as tmp:
            for key in ("loss", "eval_loss", "learning_rate"):
                rows = [f"{entry['step']}\t{entry[key]:.6g}\n" for entry in self.history if key in entry]
                (tmp / f"{key}.tsv").write_text(f"step\t{key}\n" + "".join(rows))


def lora_target_regex(model: Any, scope: str) -> str:
    """PEFT `target_modules` regex for `scope` (a regex, not a set, so adapter_config.json is stable)."""
    if scope not in LORA_SCOPES:
        raise ConfigError(f"train.lora_scope must be one of {', '.join(LORA_SCOPES)}, got {scope!r}")
    parts = [_LANGUAGE_TARGETS]
    if scope in ("projection", "encoder"):
        parts.append(_PROJECTION_TARGETS)
    if scope == "encoder":
        parts.extend(re.escape(name) for name in encoder_conv_names(model))
    return "|".join(f"(?:{part})" for part in parts)


def encoder_conv_names(model: Any) -> list[str]:
    """The vision encoder's plain Conv2d layers PEFT can adapt and merge (not grouped, not timm's Conv2dSame)."""
    import torch

    names = [
        name
        for name, module in model.named_modules()
        if name.startswith(_ENCODER_PREFIX) and type(module) is torch.nn.Conv2d and module.groups == 1
    ]
    if not names:
        raise ConfigError("train.lora_scope=encoder: the base model's vision encoder has no Conv2d layer to adapt")
    return names


def count_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def lora_config(config: TrainConfig, model: Any) -> Any:
    """The PEFT LoraConfig for `config` on `model` (hf backend)."""
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=lora_target_regex(model, config.lora_scope),
        modules_to_save=list(config.modules_to_save) or None,
        ensure_weight_tying=bool(config.modules_to_save),
        bias="none",
    )


def unsloth_collator_kwargs(config: TrainConfig) -> dict[str, Any]:
    """UnslothVisionDataCollator options: the exact image size (not its 512 px fallback), loss on answers only."""
    return {
        "resize": (config.image_size, config.image_size),
        "train_on_responses_only": True,
        "instruction_part": INSTRUCTION_PART,
        "response_part": RESPONSE_PART,
    }


@dataclass(frozen=True)
class Backend:
    """What a backend hands the trainer: the LoRA-wrapped model, its processor, collator and row format."""

    model: Any
    processor: Any
    collator: Any
    """None: TRL picks its vision collator (hf); else unsloth's collator."""
    row_format: RowFormat
    processing_class: Any


def _hf_backend(config: TrainConfig) -> Backend:
    """transformers + PEFT: the model wrapped in LoRA; TRL picks its own vision collator."""
    from peft import get_peft_model, prepare_model_for_kbit_training

    model, processor = load_base_model(
        config.base_model, image_size=config.image_size, dtype=config.precision, load_in_4bit=config.load_in_4bit
    )
    if config.load_in_4bit:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing)
    freeze_vision_batch_norm(model)
    if config.lora_scope == "encoder":
        copy_vision_output(model)
    model = get_peft_model(model, lora_config(config, model))
    if config.compile_layers:
        compile_decoder_layers(model)
    return Backend(model, processor, None, "prompt_completion", processor)


def freeze_vision_batch_norm(model: Any) -> int:
    """Keep the vision tower's batch-norm statistics as pretrained while fine-tuning; returns how many.

    The trainer puts the model in train mode, where a BatchNorm2d normalises by the batch's own
    statistics and overwrites its running ones: a CNN tower (the embedded base's ResNet) would then
    see other features than at inference, and a frozen tower would change. timm's FrozenBatchNorm2d
    always uses the stored statistics (MobileNetV5 has no batch norm: nothing to do there).
    """
    import torch
    from timm.layers import freeze_batch_norm_2d

    wrappers = [m for name, m in model.named_modules() if name.endswith("vision_tower") and hasattr(m, "timm_model")]
    frozen = 0
    for wrapper in wrappers:
        frozen += sum(isinstance(m, torch.nn.BatchNorm2d) for m in wrapper.timm_model.modules())
        wrapper.timm_model = freeze_batch_norm_2d(wrapper.timm_model)
    return frozen


def copy_vision_output(model: Any) -> None:
    """Give the vision tower's output its own storage, so a trained tower can backpropagate.

    Gemma 3n scales the tower's output in place (`last_hidden_state *= ...`); when the tower ends in an
    in-place ReLU (a ResNet) and its weights are trained, autograd then finds the ReLU's saved output
    modified. A forward hook on the tower returns a copy; MobileNetV5 is unaffected either way.
    """
    def hook(module: Any, args: Any, kwargs: Any, output: Any) -> Any:
        output.last_hidden_state = output.last_hidden_state.clone()
        return output

    for name, module in model.named_modules():
        if name.endswith("vision_tower") and hasattr(module, "timm_model"):
            module.register_forward_hook(hook, with_kwargs=True)


def compile_decoder_layers(model: Any) -> int:
    """Compile every decoder layer of `model` in place with torch.compile; returns how many."""
    layers = [module for module in model.modules() if type(module).__name__.endswith("DecoderLayer")]
    if not layers:
        raise ConfigError(f"train.compile_layers: {type(model).__name__} has no decoder layers to compile")
    import torch._dynamo

    # layers share one forward, so each distinct kind of layer (sliding or full attention, KV-shared,
    # activation sparsity: ~9 in Gemma 3n E4B) is one more compile of it; dynamo's default limit is 8
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, len(layers))
    for layer in layers:
        layer.compile()
    return len(layers)


def _import_unsloth() -> tuple[Any, Any]:
    """(FastVisionModel, UnslothVisionDataCollator), or a KeylikeError saying how to get unsloth."""
    try:
        from unsloth import FastVisionModel
        from unsloth.trainer import UnslothVisionDataCollator
    except ImportError as exc:
        raise KeylikeError(
            "train.backend=unsloth needs unsloth, a GPU-only extra: pip install -e '.[gpu]' on the GPU machine, "
            f"or set train.backend=hf ({exc})"
        ) from exc
    return FastVisionModel, UnslothVisionDataCollator


def _unsloth_backend(config: TrainConfig) -> Backend:
    """unsloth: FastVisionModel with LoRA and UnslothVisionDataCollator on `messages` rows."""
    FastVisionModel, UnslothVisionDataCollator = _import_unsloth()
    model, processor = FastVisionModel.from_pretrained(
        resolve_base_model(config.base_model),
        load_in_4bit=config.load_in_4bit,
        dtype=torch_dtype(config.precision),
        use_gradient_checkpointing="unsloth" if config.gradient_checkpointing else False,
    )
    set_image_size(processor, config.image_size)
    model = FastVisionModel.get_peft_model(
        model,
        target_modules=lora_target_regex(model, config.lora_scope),
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        bias="none",
        random_state=config.seed,
        modules_to_save=list(config.modules_to_save) or None,
    )
    FastVisionModel.for_training(model)
    collator = UnslothVisionDataCollator(model, processor, **unsloth_collator_kwargs(config))
    return Backend(model, processor, collator, "messages", processor.tokenizer)


_BACKEND_BUILDERS: dict[str, Callable[[TrainConfig], Backend]] = {"hf": _hf_backend, "unsloth": _unsloth_backend}


def load_backend(config: TrainConfig) -> Backend:
    """The base model wrapped in LoRA (seeded by config.seed), with what `config.backend` trains it with."""
    from transformers import set_seed

    if config.backend == "unsloth":
        _import_unsloth()  # unsloth patches transformers and TRL: import it first
    set_seed(config.seed)
    backend = _BACKEND_BUILDERS[config.backend](config)
    _check_modules_to_save(backend.model, config)
    return backend


def _check_modules_to_save(model: Any, config: TrainConfig) -> None:
    """Every `train.modules_to_save` entry must have become a fully trained copy (some backends drop it)."""
    wrapped = [name for name, module in model.named_modules() if type(module).__name__ == "ModulesToSaveWrapper"]
    missing = [key for key in config.modules_to_save if not any(name.endswith(key) for name in wrapped)]
    if missing:
        raise ConfigError(
            f"train.modules_to_save {missing} matched no module of {config.base_model!r} with the {config.backend} "
            "backend; name modules of the base model (e.g. embed_tokens) or set modules_to_save: []"
        )


def build_trainer(config: TrainConfig, backend: Backend, train_dataset: Any, eval_dataset: Any, checkpoints_dir: Path | str) -> Any:
    """TRL's SFTTrainer for `backend` on the two datasets, checkpointing into `checkpoints_dir`."""
    from trl import SFTTrainer

    return SFTTrainer(
        model=backend.model,
        args=sft_config(config, Path(checkpoints_dir)),
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=backend.processing_class,
        data_collator=backend.collator,
    )


def sft_config(config: TrainConfig, checkpoints_dir: Path) -> Any:
    """TRL SFTConfig shared by both backends (the unsloth one skips TRL's dataset preparation)."""
    import torch
    from trl import SFTConfig

    unsloth = config.backend == "unsloth"
    return SFTConfig(
        output_dir=str(checkpoints_dir),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,
        optim=config.optim,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        bf16=config.precision == "bf16",
        fp16=config.precision == "fp16",
        gradient_checkpointing=config.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        logging_steps=config.logging_steps,
        eval_strategy="steps",
        eval_steps=config.eval_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=1,
        seed=config.seed,
        data_seed=config.seed,
        report_to="none",
        remove_unused_columns=False,
        max_length=None,
        completion_only_loss=None if unsloth else True,
        dataset_text_field="" if unsloth else "text",
        dataset_kwargs={"skip_prepare_dataset": True} if unsloth else None,
        dataloader_num_workers=config.dataloader_workers,
        dataloader_persistent_workers=config.dataloader_workers > 0,
        dataloader_pin_memory=torch.cuda.is_available(),
    )


def run_fingerprint(config: TrainConfig, split_dir: Path | str) -> str:
    """Hash of the config and the train/val split files: a checkpoint resumes only the same run."""
    digest = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode())
    for name in ("train", "val"):
        digest.update((Path(split_dir) / f"{name}.jsonl").read_bytes())
    return digest.hexdigest()


def last_checkpoint(checkpoints_dir: Path | str) -> Path | None:
    """The newest complete checkpoint (its trainer_state.json is written last), or None."""
    complete = [p for p in Path(checkpoints_dir).glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    return max(complete, key=lambda p: int(p.name.rsplit("-", 1)[1]), default=None)


def prepare_checkpoints(checkpoints_dir: Path | str, fingerprint: str) -> Path | None:
    """The checkpoint to resume from; checkpoints of another run (other fingerprint) are deleted."""
    checkpoints_dir = Path(checkpoints_dir)
    state_path = checkpoints_dir / CHECKPOINT_STATE_NAME
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    if state.get("fingerprint") != fingerprint:
        shutil.rmtree(checkpoints_dir, ignore_errors=True)
    checkpoints_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(state_path, json.dumps({"fingerprint": fingerprint, "status": "running"}, indent=2) + "\n")
    return last_checkpoint(checkpoints_dir)


def finish_checkpoints(checkpoints_dir: Path | str, fingerprint: str) -> None:
    """After a complete run: drop the checkpoints, keep a small state file (same bytes every run)."""
    checkpoints_dir = Path(checkpoints_dir)
    for path in checkpoints_dir.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    state = {"fingerprint": fingerprint, "status": "complete"}
    atomic_write_text(checkpoints_dir / CHECKPOINT_STATE_NAME, json.dumps(state, indent=2) + "\n")


def train_adapter(
    config: TrainConfig,
    *,
    split_dir: Path | str,
    images_dir: Path | str,
    out_dir: Path | str,
    checkpoints_dir: Path | str,
) -> TrainResult:
    """Train a LoRA adapter on the train split (eval on val), resuming from checkpoints; save it to out_dir."""
    import torch

    if not torch.cuda.is_available():
        torch.set_num_threads(config.cpu_threads)
    train_records, val_records = read_split(split_dir, "train"), read_split(split_dir, "val")
    fingerprint = run_fingerprint(config, split_dir)
    resume_from = prepare_checkpoints(checkpoints_dir, fingerprint)
    backend = load_backend(config)
    trainable, total = count_parameters(backend.model)
    trainer = build_trainer(
        config,
        backend,
        build_dataset(train_records, images_dir, backend.row_format),
        build_dataset(val_records, images_dir, backend.row_format),
        checkpoints_dir,
    )
    start = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    wall_time = time.perf_counter() - start
    final_eval = trainer.evaluate()
    save_adapter(backend.model, backend.processor, config, out_dir)
    finish_checkpoints(checkpoints_dir, fingerprint)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    metrics = {
        "backend": config.backend,
        "base_model": config.base_model,
        "lora_scope": config.lora_scope,
        "trainable_params": trainable,
        "total_params": total,
        "steps": trainer.state.global_step,
        "resumed_from_step": int(resume_from.name.rsplit("-", 1)[1]) if resume_from else 0,
        "train_loss": losses[-1] if losses else output.training_loss,
        "train_loss_mean": round(sum(losses) / len(losses), 6) if losses else output.training_loss,
        "eval_loss": final_eval["eval_loss"],
        "train_samples": len(train_records),
        "eval_samples": len(val_records),
        "samples_per_second": output.metrics["train_samples_per_second"],
        "wall_time_s": round(wall_time, 2),
        "peak_memory_mb": peak_memory_mb(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
    return TrainResult(metrics=metrics, history=list(trainer.state.log_history))


def save_adapter(model: Any, processor: Any, config: TrainConfig, out_dir: Path | str) -> None:
    """Save adapter weights, processor and training info atomically; no paths or times in the files."""
    model.peft_config["default"].base_model_name_or_path = config.base_model
    info = {
        "backend": config.backend,
        "base_model": config.base_model,
        "image_size": config.image_size,
        "load_in_4bit": config.load_in_4bit,
        "lora_scope": config.lora_scope,
    }
    with atomic_directory(out_dir) as tmp:
        model.save_pretrained(tmp, save_embedding_layers=False)
        (tmp / "README.md").unlink(missing_ok=True)  # PEFT's empty model card names the local base model path
        processor.save_pretrained(tmp)
        write_json(tmp / TRAIN_INFO_NAME, info)


def peak_memory_mb() -> float:
    """Peak memory of this run: CUDA max allocated on a GPU, peak RSS of the process on a CPU."""
    import torch

    if torch.cuda.is_available():
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


__all__ = [
    "BACKENDS",
    "LORA_SCOPES",
    "TrainConfig",
    "TrainResult",
    "count_parameters",
    "encoder_conv_names",
    "lora_config",
    "lora_target_regex",
    "train_adapter",
    "unsloth_collator_kwargs",
]
