"""The training-step probe: one LoRA step of the library's adapter in plain PyTorch, per batch size and
gradient checkpointing, the ceiling a trainer can reach."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keylike.benchmarks.gpu_inputs import timed
from keylike.benchmarks.stats import steady_rate
from keylike.model.training import TrainConfig, lora_config


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


def probe_training(model: Any, processor: Any, samples: Sequence[tuple[Any, Any]], batch_sizes: Sequence[int],
                   config: TrainConfig, steps: int = 6,
                   checkpointing_modes: Sequence[bool] = (False, True)) -> list[dict[str, Any]]:
    """Step time of LoRA training in plain PyTorch (AdamW, base in its dtype) per batch size and checkpointing,
    with the adapter the library trains for `config` (keylike.model.training.lora_config: targets, r, dropout)."""
    import torch
    from peft import get_peft_model

    device = model.device.type
    peft_model = get_peft_model(model, lora_config(config, model))
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, fused=device == "cuda")
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
                        torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
                        optimizer.step()
                        optimizer.zero_grad(set_to_none=True)
                        losses.append(float(loss))
                    times.append(timed(step, device))
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
