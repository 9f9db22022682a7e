"""The optimisation loop both pretraining phases share: AdamW, warm-up then cosine, random batches, a loss curve."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any


def lr_at(step: int, steps: int, peak: float, warmup_ratio: float) -> float:
    """Linear warm-up, then cosine decay to zero."""
    warmup = max(1, int(steps * warmup_ratio))
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


def train_steps(
    parameters: Iterable[Any], batch_loss: Callable[[Any], Any], *, rows: int, steps: int, batch_size: int,
    learning_rate: float, weight_decay: float, warmup_ratio: float, seed: int, device: Any, log: Callable[[str], Any],
    name: str, max_grad_norm: float | None = None,
) -> list[dict[str, float]]:
    """`steps` AdamW steps on `batch_loss(row indices)` over random batches of `rows` (bf16 autocast on CUDA);
    returns the loss curve (50 points)."""
    import torch

    parameters = list(parameters)
    optimizer = torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=weight_decay)
    generator = torch.Generator(device=device).manual_seed(seed)
    curve, started = [], time.perf_counter()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, steps, learning_rate, warmup_ratio)
        index = torch.randint(0, rows, (batch_size,), device=device, generator=generator)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = batch_loss(index)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if max_grad_norm:
            torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm)
        optimizer.step()
        if (step + 1) % max(1, steps // 50) == 0 or step + 1 == steps:
            curve.append({"step": step + 1, "loss": round(loss.item(), 5), "s": round(time.perf_counter() - started, 1)})
            log(f"{name} step {step + 1}/{steps} loss {curve[-1]['loss']} ({curve[-1]['s']} s)")
    return curve
