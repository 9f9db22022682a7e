"""What makes the embedded tiny Gemma 3n learn the task: the default profile against ablations.

Each variant trains (train_adapter), merges (merge_adapter) and answers the test split (run_benchmark)
on the pipeline's own data, with the committed params except what the variant changes. A tiny-model
variant is saved to a folder and given as `train.base_model`, the path any local model takes.

    python -m keylike.benchmarks.tiny_learning --split data/split --images data/ingested \
        --out metrics/benchmarks/tiny_learning.json
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

from keylike.benchmarks import command_line
from keylike.benchmarks.machine import machine
from keylike.config import load_params
from keylike.io import write_json

VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "default": ({}, {}),
    "transformers_init": ({"qk_norm_weight": 1.0, "center_image_projection": False}, {}),
    "no_centering": ({"center_image_projection": False}, {}),
    "4_image_tokens": ({"image_tokens": 4}, {}),
    "lora_only": ({}, {"modules_to_save": ()}),
    "projection_scope": ({}, {"lora_scope": "projection"}),
}
"""name: (TinyConfig changes, train param changes)."""
HEADLINE = ("format_compliance", "keyway_accuracy", "brand_accuracy", "per_cut_accuracy", "within_one_step")


def run_variant(name: str, params: dict[str, Any], split: Path, images: Path, work: Path) -> dict[str, Any]:
    """Train, merge and benchmark one variant; its headline metrics and timings."""
    from keylike.evaluation.benchmark import BenchmarkConfig, run_benchmark
    from keylike.model.merging import MergeConfig, merge_adapter
    from keylike.model.tiny import TinyConfig, save_tiny_model
    from keylike.model.training import TrainConfig, train_adapter

    tiny_changes, train_changes = VARIANTS[name]
    base_model = str(save_tiny_model(work / name / "base", TinyConfig(**tiny_changes))) if tiny_changes else "tiny"
    params = {**params, "train": {**params["train"], "base_model": base_model}}
    config = replace(TrainConfig.from_params(params), **train_changes)
    started = time.perf_counter()
    trained = train_adapter(config, split_dir=split, images_dir=images, out_dir=work / name / "adapter",
                            checkpoints_dir=work / name / "checkpoints")
    train_s = time.perf_counter() - started
    merge = merge_adapter(MergeConfig.from_params(params), adapter_dir=work / name / "adapter", out_dir=work / name / "merged")
    scored = run_benchmark(BenchmarkConfig.from_params(params), model_dir=work / name / "merged", split_dir=split, images_dir=images)
    return {
        "tiny_changes": tiny_changes,
        "train_changes": {k: list(v) if isinstance(v, tuple) else v for k, v in train_changes.items()},
        "train_s": round(train_s, 1),
        "steps": trained.metrics["steps"],
        "trainable_params": trained.metrics["trainable_params"],
        "final_train_loss": round(trained.metrics["train_loss"], 4),
        "eval_loss": round(trained.metrics["eval_loss"], 4),
        "smoke_parsed": merge["smoke_parsed"],
        **{key: scored.metrics[key] for key in HEADLINE},
    }


def chance_levels(split: Path) -> dict[str, float]:
    """Keyway and brand accuracy of always answering the most common train label, and of guessing uniformly."""
    from collections import Counter

    from keylike.data.split import read_split

    train, test = read_split(split, "train"), read_split(split, "test")
    levels = {}
    for field in ("keyway", "brand"):
        common = Counter(getattr(r, field) for r in train).most_common(1)[0][0]
        levels[f"{field}_majority"] = round(sum(getattr(r, field) == common for r in test) / len(test), 4)
        levels[f"{field}_uniform"] = round(1 / len({getattr(r, field) for r in train}), 4)
    return levels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m keylike.benchmarks.tiny_learning", description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--split", type=Path, default=Path("data/split"))
    parser.add_argument("--images", type=Path, default=Path("data/ingested"))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=Path("metrics/benchmarks/tiny_learning.json"))
    args = parser.parse_args(argv)
    params = load_params(args.params)
    results: dict[str, Any] = {
        "command": command_line("keylike.benchmarks.tiny_learning", argv),
        "machine": machine(),
        "versions": {name: metadata.version(name) for name in ("torch", "transformers", "peft", "trl")},
        "train_params": params["train"],
        "chance": chance_levels(args.split),
        "variants": {},
    }
    with tempfile.TemporaryDirectory(prefix="tiny-learning-") as work:
        for name in args.variants:
            results["variants"][name] = run_variant(name, params, args.split, args.images, Path(work))
            print(name, results["variants"][name], flush=True)
            write_json(args.out, results)


if __name__ == "__main__":
    main()
