"""Read keys from photos and print one JSON object per photo (JSON lines, in order).

  keylike predict key1.jpg key2.png                   # the pipeline's model, data/models/merged
  keylike predict photos/*.jpg --batch-size 16 > answers.jsonl
  keylike predict key1.jpg --model /srv/keylike/merged

Each line is the JSON that `keylike serve` answers at POST /analyze, plus `image`. A photo that
gives no reading has `success: false` and an `error`: `no_key`, `low_confidence` (the reading in
`bestGuess`), `invalid_bitting` or `answer_unparseable`; a file that is not a usable photo gives
`success: false` with `error` and `message`, and the command exits 1 after the other photos. When
none of the photos exists, it says so before loading the model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from keylike.commands import add_path
from keylike.dvc_paths import stage_dvc_yaml
from keylike.keys import MAX_ANSWER_TOKENS

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_SIDE = 1024


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by `keylike predict` and `keylike serve`: the model and the photo limits."""
    add_path(parser, "merge", "--model", "merged model folder (the merge stage's output)", stage_flag="--out")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: CUDA when there is a GPU, else the CPU")
    parser.add_argument("--max-new-tokens", type=int, default=MAX_ANSWER_TOKENS, help="answer length limit in tokens")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="largest photo in bytes")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="largest photo, width x height")
    parser.add_argument("--max-side", type=int, default=DEFAULT_MAX_SIDE,
                        help="longest side after normalising: the model's ingest.max_image_side")


def check_model(model: Path) -> Path:
    """`model` when it holds a saved model; else a ConfigError naming the folder tried and how to get one."""
    from keylike.errors import ConfigError

    if (model / "config.json").is_file():
        return model
    tried, other = f"no model in {model} ({model.resolve()})", "pass --model with the folder of a merged model"
    dvc_yaml = stage_dvc_yaml("merge")
    if dvc_yaml is None or dvc_yaml.is_absolute():  # no pipeline in this folder or above it
        where = f"run keylike in the repository ({dvc_yaml.parent}) or " if dvc_yaml else ""
        raise ConfigError(f"{tried}; {where}{other}")
    stage = "merge" if dvc_yaml == Path("dvc.yaml") else f"{dvc_yaml}:merge"
    raise ConfigError(f"{tried}; get it with `dvc pull {model}` or build it with `dvc repro {stage}`, or {other}")


def load_predictor(args: argparse.Namespace) -> Any:
    """The ModelPredictor the flags of add_model_arguments describe (loads the model once)."""
    from keylike.serving import ModelPredictor

    return ModelPredictor(check_model(args.model), max_new_tokens=args.max_new_tokens, device=args.device)


def limits_from_args(args: argparse.Namespace) -> Any:
    """The ImageLimits the flags of add_model_arguments describe."""
    from keylike.serving import ImageLimits

    return ImageLimits(max_bytes=args.max_bytes, max_pixels=args.max_pixels, max_side=args.max_side)


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
