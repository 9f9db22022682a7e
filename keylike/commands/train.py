"""Fine-tune Gemma 3n with LoRA on a split (the `train` stage's library call, with its defaults).

Writes the adapter to --out, resumable checkpoints to --checkpoints, metrics JSON and loss curves.

    keylike train --split data/split --images data/ingested --out data/models/adapter
"""

from __future__ import annotations

import argparse

from keylike.commands import add_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike train` (path defaults: the train stage's in dvc.yaml)."""
    add_path(parser, "train", "--params", "params.yaml with a `train` block")
    add_path(parser, "train", "--split", "folder with train/val/test.jsonl")
    add_path(parser, "train", "--images", "ingested data set (image paths are relative to it)")
    add_path(parser, "train", "--out", "adapter folder (replaced atomically)")
    add_path(parser, "train", "--checkpoints", "checkpoint folder, kept between runs to resume")
    add_path(parser, "train", "--metrics", "metrics JSON")
    add_path(parser, "train", "--plots", "folder for loss, eval_loss and learning_rate TSVs")


def run(args: argparse.Namespace) -> int:
    """Train and print where the adapter went and the final losses; with `train.processes` above 1, start
    that many copies of this command under accelerate launch and wait for them."""
    from keylike.config import load_params
    from keylike.model.training import TrainConfig, train_adapter
    from keylike.model.training.launch import launch_training, needs_launch

    config = TrainConfig.from_params(load_params(args.params))
    if needs_launch(config):
        launch_training(config, ["keylike.cli", "train", *(f"--{key}={value}" for key, value in vars(args).items())])
        return 0
    result = train_adapter(config, split_dir=args.split, images_dir=args.images, out_dir=args.out, checkpoints_dir=args.checkpoints)
    if result is None:  # another process of a launched run: the first one writes
        return 0
    result.write(args.metrics, args.plots)
    metrics = result.metrics
    print(f"adapter in {args.out}: {metrics['steps']} steps, train loss {metrics['train_loss']:.4f}, eval loss {metrics['eval_loss']:.4f}")
    return 0
