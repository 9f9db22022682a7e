"""The training run: TRL's SFTTrainer on the split, resumed from checkpoints, the adapter saved, metrics and curves."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keylike.data.split import read_split
from keylike.io import atomic_directory, write_metrics
from keylike.model.adapter import save_adapter
from keylike.model.dataset import build_dataset
from keylike.model.training.backends import Backend, load_backend
from keylike.model.training.checkpoints import finish_checkpoints, last_checkpoint, prepare_checkpoints, run_fingerprint
from keylike.model.training.config import TrainConfig
from keylike.model.training.launch import join_launched_run
from keylike.model.training.targets import count_parameters
from keylike.numerics import set_cpu_threads

LOSS_FIGURE = "loss.png"
"""The loss curves drawn into the train stage's plots folder (a PNG that needs no browser or network)."""


@dataclass
class TrainResult:
    """What a training run reports: summary metrics and the trainer's log history."""

    metrics: dict[str, Any]
    """Final train and eval loss, steps, samples/s, peak memory, trainable params, wall time."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """One dict per log event (`step` plus `loss`, `learning_rate`, `eval_loss`, ...)."""

    def write(self, metrics_path: Path | str, plots_dir: Path | str) -> None:
        """Write the metrics (headline: the final validation loss; the rest to metrics/details/), one
        `step<TAB>value` TSV per curve (loss, eval_loss, learning_rate) and `loss.png` of the two losses."""
        from keylike.model.curves import Curve, draw_curves

        write_metrics(metrics_path, self.metrics, ("eval_loss",))
        with atomic_directory(plots_dir) as tmp:
            for key in ("loss", "eval_loss", "learning_rate"):
                rows = [f"{entry['step']}\t{entry[key]:.6g}\n" for entry in self.history if key in entry]
                (tmp / f"{key}.tsv").write_text(f"step\t{key}\n" + "".join(rows))
            draw_curves([Curve(title, key, [(e["step"], e[key]) for e in self.history if key in e])
                         for key, title in (("loss", "training loss"), ("eval_loss", "validation loss"))], tmp / LOSS_FIGURE)


def build_trainer(backend: Backend, train_dataset: Any, eval_dataset: Any, args: Any) -> Any:
    """TRL's SFTTrainer for `backend` on the two datasets, with `args` (sft_config)."""
    from trl import SFTTrainer

    from keylike.model.training.progress import use_log_lines

    return use_log_lines(SFTTrainer(
        model=backend.model,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=backend.processing_class,
        data_collator=backend.collator,
    ))


def sft_config(config: TrainConfig, checkpoints_dir: Path) -> Any:
    """TRL SFTConfig shared by both backends (the unsloth one skips TRL's dataset preparation); each of
    config.processes processes takes an equal share of the global batch."""
    import torch
    from trl import SFTConfig

    unsloth = config.backend == "unsloth"
    return SFTConfig(
        output_dir=str(checkpoints_dir),
        per_device_train_batch_size=config.batch_size // config.processes,
        per_device_eval_batch_size=config.batch_size // config.processes,
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


def train_adapter(
    config: TrainConfig,
    *,
    split_dir: Path | str,
    images_dir: Path | str,
    out_dir: Path | str,
    checkpoints_dir: Path | str,
) -> TrainResult | None:
    """Train a LoRA adapter on the train split (eval on val), resuming from checkpoints; save it to out_dir.

    In a run of several processes (launch.py) each one calls this; the first one alone prepares the
    checkpoints, saves the adapter and returns the result (the others return None once it is saved)."""
    import torch
    from accelerate.utils import gather_object

    join_launched_run(config)
    if not torch.cuda.is_available():
        set_cpu_threads(config.cpu_threads)
    train_records, val_records = read_split(split_dir, "train"), read_split(split_dir, "val")
    fingerprint = run_fingerprint(config, split_dir)
    args = sft_config(config, Path(checkpoints_dir))
    main = args.process_index == 0
    with args.main_process_first(local=False, desc="checkpoints"):
        resume_from = prepare_checkpoints(checkpoints_dir, fingerprint) if main else last_checkpoint(checkpoints_dir)
    backend = load_backend(config)
    trainable, total = count_parameters(backend.model)
    trainer = build_trainer(
        backend,
        build_dataset(train_records, images_dir, backend.row_format),
        build_dataset(val_records, images_dir, backend.row_format),
        args,
    )
    start = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    wall_time = time.perf_counter() - start
    final_eval = final_evaluation(trainer.state.log_history, trainer.state.global_step) or trainer.evaluate()
    peak_memory = max(gather_object([peak_memory_mb()]))
    with args.main_process_first(local=False, desc="adapter"):  # the others wait here until it is saved
        if main:
            save_adapter(backend.model, backend.processor, config.adapter_info(), out_dir)
            finish_checkpoints(checkpoints_dir, fingerprint)
    if not main:
        return None
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
        "processes": config.processes,
        "samples_per_second": output.metrics["train_samples_per_second"],
        "wall_time_s": round(wall_time, 2),
        "peak_memory_mb": peak_memory,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
    return TrainResult(metrics=metrics, history=list(trainer.state.log_history))


def final_evaluation(log_history: list[dict[str, Any]], step: int) -> dict[str, Any] | None:
    """The evaluation the trainer logged at `step` (it evaluates at the last step), or None when it did not."""
    return next((entry for entry in reversed(log_history) if "eval_loss" in entry and entry.get("step") == step), None)


def peak_memory_mb() -> float:
    """Peak memory of this run: CUDA max allocated on a GPU, peak RSS of the process on a CPU."""
    import torch

    if torch.cuda.is_available():
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
