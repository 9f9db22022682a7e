"""Steady training rates from measured step times (percentiles: keylike.evaluation.latency)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


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
