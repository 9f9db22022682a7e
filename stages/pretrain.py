"""Stage `pretrain` (data/base/dvc.yaml, GPU): make the pretrained base model the default pipeline fine-tunes.

    cd data/base && python ../../stages/pretrain.py --params params.yaml --out model \
        --metrics metrics.json --curves curves
"""

import argparse
from pathlib import Path

from keylike.config import load_params
from keylike.errors import run_main
from keylike.model.pretraining import PretrainConfig, pretrain_base


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pretrain", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="the base pipeline's params (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="model folder (replaced atomically)")
    parser.add_argument("--metrics", type=Path, required=True, help="scores on held-out photos (JSON)")
    parser.add_argument("--curves", type=Path, required=True, help="folder for the loss curves of both phases (JSON)")
    parser.add_argument("--tower-checkpoint", type=Path, default=None,
                        help="phase 1's tower: saved here, or loaded from here when the file exists (resume)")
    args = parser.parse_args(argv)
    config = PretrainConfig.from_params(load_params(args.params))
    pretrain_base(config, args.out, args.metrics, args.curves, args.tower_checkpoint)


if __name__ == "__main__":
    run_main(main, "pretrain")
