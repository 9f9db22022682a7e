"""Read keys from photos and print one JSON object per photo (JSON lines, in order).

  keylike predict key1.jpg key2.png --model data/models/merged
  keylike predict photos/*.jpg --model data/models/merged --batch-size 16 > answers.jsonl

Each line is the web app's JSON (see `keylike serve`) plus `image`. A photo that gives no reading has
`success: false` and an `error`: `no_key`, `low_confidence` (the reading in `bestGuess`),
`invalid_bitting` or `answer_unparseable`; a file that is not a usable photo gives `success: false`
with `error` and `message`, and the command exits 1 after the other photos. When none of the photos
exists, it says so before loading the model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by `keylike predict` and `keylike serve`: the model and the photo limits."""
    parser.add_argument("--model", type=Path, default=Path("data/models/merged"), help="merged model folder")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="answer length limit in tokens")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="largest photo in bytes")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="largest photo, width x height")


def load_predictor(args: argparse.Namespace) -> Any:
    """The ModelPredictor the flags of add_model_arguments describe (loads the model once)."""
    from keylike.serving import ModelPredictor

    return ModelPredictor(args.model, max_new_tokens=args.max_new_tokens, device=args.device)


def limits_from_args(args: argparse.Namespace) -> Any:
    """The ImageLimits the flags of add_model_arguments describe."""
    from keylike.serving import ImageLimits

    return ImageLimits(max_bytes=args.max_bytes, max_pixels=args.max_pixels)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike predict`."""
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="key photos")
    add_model_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=8, help="photos per generate call")


def run(args: argparse.Namespace) -> int:
    """Print one JSON line per photo; exit 1 if any file was not a usable photo."""
    from keylike.errors import ConfigError
    from keylike.serving import predict_files

    if not any(Path(path).is_file() for path in args.images):
        raise ConfigError(f"none of the photos exists: {', '.join(map(str, args.images[:3]))}"
                          f"{' ...' if len(args.images) > 3 else ''}; pass paths of key photos")
    limits = limits_from_args(args)
    predictor = load_predictor(args)
    unusable = 0
    for row in predict_files(predictor, args.images, limits, batch_size=max(1, args.batch_size)):
        unusable += "answer" not in row
        sys.stdout.write(json.dumps(row, sort_keys=True) + "\n")
        sys.stdout.flush()
    return 1 if unusable else 0
