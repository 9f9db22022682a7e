"""Stage `train`: LoRA fine-tune the base model on the train split (eval on val); resumes a killed run.

    python stages/train.py --params params.yaml --split data/split --images data/ingested \
        --out data/models/adapter --checkpoints data/models/checkpoints \
        --metrics metrics/train.json --plots metrics/train
"""

import argparse
from pathlib import Path

from keylike.config import load_params
from keylike.errors import run_main
from keylike.model.training import TrainConfig, train_adapter
from keylike.numerics import pin_cpu_numerics


def main(argv: list[str] | None = None) -> None:
    pin_cpu_numerics()  # before torch loads: the same bytes on any x86-64 machine
    parser = argparse.ArgumentParser(prog="train", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--split", type=Path, required=True, help="folder with train/val/test.jsonl")
    parser.add_argument("--images", type=Path, required=True, help="ingested data set (image paths are relative to it)")
    parser.add_argument("--out", type=Path, required=True, help="adapter folder (replaced atomically)")
    parser.add_argument("--checkpoints", type=Path, required=True, help="checkpoint folder, kept between runs to resume")
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True, help="folder for loss, eval_loss and learning_rate TSVs")
    args = parser.parse_args(argv)
    config = TrainConfig.from_params(load_params(args.params))
    result = train_adapter(config, split_dir=args.split, images_dir=args.images, out_dir=args.out, checkpoints_dir=args.checkpoints)
    result.write(args.metrics, args.plots)


if __name__ == "__main__":
    run_main(main, "train")
