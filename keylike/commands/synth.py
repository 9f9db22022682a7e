"""Render a synthetic data set of key photos in the Keylike data set format.

Writes OUT/labels.jsonl, OUT/images/key_0001.jpg ... and OUT/contact_sheet.png. Keyways and photographic
variation come from `ingest.keyway_mix` and `ingest.render` in --params (params.yaml when it exists), so a set
written here passes validation beside the pipeline's own synthetic mix; without params, every keyway.

    keylike synth --n 200 --out data/raw/synthetic --size 768 --keyways SC1 KW1
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike synth`."""
    parser.add_argument("--n", type=int, required=True, help="number of images")
    parser.add_argument("--out", type=Path, required=True, help="output data set folder (replaced atomically)")
    parser.add_argument("--seed", type=int, default=3407, help="same seed, same images (default 3407)")
    parser.add_argument("--size", type=int, default=768, help="image side in pixels (default 768)")
    parser.add_argument("--keyways", nargs="+", default=None, help="keyway codes, evenly mixed (default: the keyways of ingest.keyway_mix)")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"),
                        help="keyways and render settings from this params file's ingest block (default: params.yaml)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")


def run(args: argparse.Namespace) -> int:
    """Render the data set and print where it went."""
    from keylike.config import load_params
    from keylike.data.ingest import IngestConfig
    from keylike.data.rendering import RenderSettings
    from keylike.data.synthesis import keyway_mix_from_codes, write_synthetic_dataset
    from keylike.keys import NO_KEY, keyway_codes

    config = IngestConfig.from_params(load_params(args.params)) if args.params.is_file() else None
    settings = config.render if config else RenderSettings()
    default = [code for code in config.keyway_mix if code != NO_KEY] if config else keyway_codes()
    mix = keyway_mix_from_codes(args.keyways or default)
    out = write_synthetic_dataset(args.out, args.n, mix, args.seed, settings, args.size, args.workers)
    print(f"wrote {args.n} images to {out} (labels.jsonl, images/, contact_sheet.png)")
    return 0
