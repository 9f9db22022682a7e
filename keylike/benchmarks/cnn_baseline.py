"""The specialist to match: a from-scratch CNN classifier on the base model's photos, with the base's GPU budget.

Not on the product path. The same timm tower as the base, random weights, a keyway head and one depth
head per cut position (phase 1 of the base recipe, `keylike.model.pretraining.reader`), trained on the
very photos the base is pretrained on for as many seconds as the base's two phases took together
(`data/base/metrics.json`: tower_train_s + decoder_train_s, turned into steps at phase 1's measured
rate), then scored on the base's held-out evaluation photos of the pretrained keyways. GPU:

    python -m keylike.benchmarks.cnn_baseline --params data/base/params.yaml \
        --base-metrics data/base/metrics.json --out metrics/benchmarks/cnn_baseline.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from keylike.benchmarks import command_line
from keylike.benchmarks.machine import machine
from keylike.config import load_params
from keylike.data.rendering import RenderSettings
from keylike.io import write_json
from keylike.model.pretraining import PretrainConfig
from keylike.model.pretraining.photos import render_photos
from keylike.model.pretraining.reader import build_reader, score_reader, train_reader


def budget_steps(config: PretrainConfig, base_metrics: dict[str, Any]) -> int:
    """Phase-1 steps that take as long as the base's whole GPU training (both phases)."""
    seconds = base_metrics["tower_train_s"] + base_metrics["decoder_train_s"]
    return round(seconds * config.tower_steps / base_metrics["tower_train_s"])


def run(config: PretrainConfig, base_metrics: dict[str, Any], steps: int) -> dict[str, Any]:
    """Train the baseline for `steps` on the base's training photos; score it beside the base."""
    import torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(config.seed)
    settings = RenderSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.render.items()})
    pretrain_mix = {code: config.keyway_mix[code] for code in config.pretrain_keyways}
    train = render_photos(config.train_photos, pretrain_mix, config.no_key_share, config.seed, settings, config.image_size)
    evaluation = render_photos(config.eval_photos, dict(config.keyway_mix), config.no_key_share, config.seed + 1,
                               settings, config.image_size)
    reader = build_reader(config.vision_architecture, len(config.classes), max(len(label.bitting) for label in train.labels))
    started = time.perf_counter()
    curve = train_reader(reader, train, config.classes, steps=steps, batch_size=config.tower_batch_size,
                         learning_rate=config.tower_learning_rate, weight_decay=config.weight_decay,
                         warmup_ratio=config.warmup_ratio, seed=config.seed, device=device, log=print)
    seconds = time.perf_counter() - started
    baseline = score_reader(reader, evaluation, config.classes, device, scored=config.pretrain_keyways)
    seen = base_metrics["pretrained_keyways"]
    return {
        "cnn_baseline": {**baseline, "steps": steps, "train_s": round(seconds, 1)},
        "base": {"keyway_accuracy": seen["keyway_accuracy"], "per_cut_accuracy": seen["per_cut_accuracy"],
                 "within_one_step": seen["within_one_step"], "whole_key": seen["exact_match"],
                 "train_s": base_metrics["tower_train_s"] + base_metrics["decoder_train_s"]},
        "eval_photos_scored": sum(label.keyway in config.pretrain_keyways for label in evaluation.labels),
        "curve": curve,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="cnn_baseline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=Path("data/base/params.yaml"), help="the base recipe (default: %(default)s)")
    parser.add_argument("--base-metrics", type=Path, default=Path("data/base/metrics.json"),
                        help="the base's scores and GPU seconds (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=None, help="override the budget in steps (smoke runs)")
    parser.add_argument("--out", type=Path, required=True, help="result JSON")
    args = parser.parse_args(argv)
    config = PretrainConfig.from_params(load_params(args.params))
    base_metrics = json.loads(args.base_metrics.read_text())
    steps = args.steps or budget_steps(config, base_metrics)
    import torch

    result = run(config, base_metrics, steps)
    write_json(args.out, {
        "command": command_line("keylike.benchmarks.cnn_baseline", argv),
        "machine": machine(("torch",), gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None),
        **result,
    })
    print(json.dumps({k: v for k, v in result.items() if k != "curve"}))


if __name__ == "__main__":
    main()
