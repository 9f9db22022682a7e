"""Issue 10's targets, and one result combined from several GPU runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TARGETS = {
    "train_samples_per_s": (">=", 25.0),
    "train_time_to_first_step_s": ("<=", 60.0),
    "train_backend_speedup": (">=", 1.5),
    "infer_batch1_p50_s": ("<=", 0.150),
    "infer_images_per_s": (">=", 100.0),
    "infer_cold_start_s": ("<=", 60.0),
}
"""Issue 10's targets on one H200: metric -> (comparison, bound)."""


def check_targets(measured: dict[str, float | None]) -> dict[str, dict[str, Any]]:
    """Each target of TARGETS with its measured value and whether it is met (None: not measured)."""
    report = {}
    for name, (op, bound) in TARGETS.items():
        value = measured.get(name)
        met = None if value is None else (value >= bound if op == ">=" else value <= bound)
        report[name] = {"target": f"{op} {bound:g}", "measured": value, "met": met}
    return report


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
