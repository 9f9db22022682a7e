"""GPU proof of the production recipe: the production profile's train and merge stages, run through
keylike's own library functions on a full-size Gemma 3n E4B with random weights and synthetic 768 px
key photos; then the merged model is reloaded with plain transformers and answers.

The profile is params.yaml with keylike/profiles/profile/production.yaml on top (what
`dvc exp run -S +profile=production` composes); `--set train.learning_rate=1e-3` style overrides
change single keys and are recorded in the result. A random-init model barely moves at lr 1e-4 in a
few dozen steps (its gradient norms are ~5e4, clipped to 1.0), so a proof that it learns uses a higher
rate or more steps, and says so.

    python -m keylike.benchmarks.gpu_proof --work /tmp/proof --out metrics/benchmarks/gpu_train_proof.json \
        --set train.max_steps=60 --set train.learning_rate=1e-3
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from keylike.benchmarks import PROCESS_START, command_line
from keylike.benchmarks.gpu_profile import prepare_data, production_params
from keylike.benchmarks.machine import environment


def loss_curve(history: list[dict[str, Any]]) -> list[dict[str, float]]:
    """(step, loss, learning_rate, grad_norm) of every logged training step."""
    keys = ("loss", "learning_rate", "grad_norm")
    return [{"step": e["step"], **{k: e[k] for k in keys if k in e}} for e in history if "loss" in e]


def run_proof(params: dict[str, Any], work: Path) -> dict[str, Any]:
    """Build the model, prepare data, train (train_adapter), merge (merge_adapter), reload and answer."""
    if params["train"]["backend"] == "unsloth":
        import unsloth  # noqa: F401  (it patches transformers and TRL, so it is imported before them)
    import torch

    from keylike.model.full_size import save_full_size
    from keylike.model.loading import TINY
    from keylike.model.merging import MergeConfig, merge_adapter
    from keylike.model.training import TrainConfig, train_adapter

    result: dict[str, Any] = {}
    started = time.perf_counter()
    base_dir = Path(params["train"]["base_model"])
    if params["train"]["base_model"] != TINY and not (base_dir / "config.json").is_file():
        save_full_size(base_dir)
        torch.cuda.empty_cache()
    result["build_and_save_s"] = time.perf_counter() - started
    result["data"] = prepare_data(params, work)
    print("data", result["data"], flush=True)

    config = TrainConfig.from_params(params)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    trained = train_adapter(config, split_dir=work / "split", images_dir=work / "ingested",
                            out_dir=work / "adapter", checkpoints_dir=work / "checkpoints")
    result["train"] = {"wall_s": time.perf_counter() - started, "metrics": trained.metrics,
                       "loss_curve": loss_curve(trained.history),
                       "peak_gpu_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None}
    curve = result["train"]["loss_curve"]
    result["train"]["loss_first"], result["train"]["loss_last"] = curve[0]["loss"], curve[-1]["loss"]
    print("train", {k: v for k, v in result["train"].items() if k != "loss_curve"}, flush=True)

    if cuda:
        torch.cuda.empty_cache()
    started = time.perf_counter()
    result["merge"] = merge_adapter(MergeConfig.from_params(params), adapter_dir=work / "adapter", out_dir=work / "merged")
    result["merge"]["wall_s"] = time.perf_counter() - started
    print("merge", result["merge"], flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m keylike.benchmarks.gpu_proof", description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/keylike-proof"), help="scratch folder (data, adapter, merged)")
    parser.add_argument("--model-dir", type=Path, default=Path("/tmp/gemma-3n-e4b-random"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="BLOCK.KEY=VALUE")
    parser.add_argument("--out", type=Path, default=Path("metrics/benchmarks/gpu_train_proof.json"))
    args = parser.parse_args(argv)
    params = production_params(args.params, [f"train.base_model={args.model_dir}", *args.overrides])
    from keylike.io import write_json

    results = {
        "command": command_line("keylike.benchmarks.gpu_proof", argv),
        "environment": environment(),
        "profile": "production",
        "overrides": args.overrides,
        "train_params": params["train"],
        "merge_params": params["merge"],
    }
    try:
        results |= run_proof(params, args.work)
    finally:
        results["total_s"] = time.time() - PROCESS_START
        write_json(args.out, results)
    print(json.dumps({k: v for k, v in results.items() if k != "train"}, indent=1, default=str))


if __name__ == "__main__":
    main()
