"""Stage `split`: split data/ingested into train/val/test manifests, by physical key and keyway.

    python stages/split.py --params params.yaml --data data/ingested \
        --validation metrics/validation.json --out data/split --metrics metrics/split.json

Refuses to run unless --validation says this manifest passed the validate stage.
"""

import argparse
from pathlib import Path

from keylike.config import load_params
from keylike.data.split import SplitConfig, split_dataset
from keylike.errors import run_main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="split", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--data", type=Path, required=True, help="ingested data set folder")
    parser.add_argument("--validation", type=Path, required=True, help="metrics/validation.json of the validate stage")
    parser.add_argument("--out", type=Path, required=True, help="split folder (replaced atomically)")
    parser.add_argument("--metrics", type=Path, required=True)
    args = parser.parse_args(argv)
    config = SplitConfig.from_params(load_params(args.params))
    summary = split_dataset(config, data_dir=args.data, validation_path=args.validation, out_dir=args.out)
    summary.write_json(args.metrics)


if __name__ == "__main__":
    run_main(main, "split")
