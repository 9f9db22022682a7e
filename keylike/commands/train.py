"""Fine-tune Gemma 3n with LoRA on a split (the `train` stage's library call, with its defaults).

Writes the adapter to --out, resumable checkpoints to --checkpoints, metrics JSON and loss curves.

    keylike train --split data/split --images data/ingested --out data/models/adapter
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike train`."""
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params.yaml with a `train` block")
    parser.add_argument("--split", type=Path, default=Path("data/split"), help="folder with train/val/test.jsonl")
    parser.add_argument("--images", type=Path, default=Path("data/ingested"), help="ingested data set folder")
    parser.add_argument("--out", type=Path, default=Path("data/models/adapter"), help="adapter folder")
    parser.add_argument("--checkpoints", type=Path, default=Path("data/models/checkpoints"), help="checkpoint folder")
    parser.add_argument("--metrics", type=Path, default=Path("metrics/train.json"))
    parser.add_argument("--plots", type=Path, default=Path("metrics/train"))


def run(args: argparse.Namespace) -> int:
    """Train and print where the adapter went and the final losses."""
    from keylike.config import load_params
    from keylike.model.training import TrainConfig, train_adapter

    config = TrainConfig.from_params(load_params(args.params))
    result = train_adapter(config, split_dir=args.split, images_dir=args.images, out_dir=args.out, checkpoints_dir=args.checkpoints)
    result.write(args.metrics, args.plots)
    metrics = result.metrics
    print(f"adapter in {args.out}: {metrics['steps']} steps, train loss {metrics['train_loss']:.4f}, eval loss {metrics['eval_loss']:.4f}")
    return 0
