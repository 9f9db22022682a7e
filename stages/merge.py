"""Stage `merge`: merge the LoRA adapter into the 16-bit base weights; smoke-test the reloaded model.

    python stages/merge.py --params params.yaml --adapter data/models/adapter \
        --out data/models/merged --metrics metrics/merge.json
"""

import argparse
from pathlib import Path

from keylike.config import load_params
from keylike.io import write_json
from keylike.model.merging import MergeConfig, merge_adapter


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="merge", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--adapter", type=Path, required=True, help="adapter folder written by the train stage")
    parser.add_argument("--out", type=Path, required=True, help="merged model folder (replaced atomically)")
    parser.add_argument("--metrics", type=Path, required=True)
    args = parser.parse_args(argv)
    config = MergeConfig.from_params(load_params(args.params))
    write_json(args.metrics, merge_adapter(config, adapter_dir=args.adapter, out_dir=args.out))


if __name__ == "__main__":
    main()
