"""Fine-tuning variants side by side: each trains, merges (calibrating on val) and answers the test split
exactly as `dvc repro` does, with some `train` params overridden and a training seed of its own.

Meant for a GPU machine, where many small runs share one GPU; the numbers guide the CPU default, whose
own run is what `metrics/benchmark.json` records. Results on the same split as the pipeline's:

    python -m keylike.benchmarks.finetune_sweep --variants '{"e4": {}, "e5": {"epochs": 5}}' \
        --seeds 3407 11 --parallel 8 --out metrics/benchmarks/finetune_sweep.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from keylike.io import write_json

REPORTED = ("keyway_accuracy", "per_cut_accuracy", "within_one_step", "exact_match", "format_compliance",
            "no_key_recognised", "key_called_no_key")


def run_variant(params_path: Path, split: Path, images: Path, workdir: Path) -> dict[str, Any]:
    """Train, merge + calibrate and benchmark with the params in `params_path`; the figures that decide."""
    import torch

    from keylike.config import load_params
    from keylike.evaluation.benchmark import BenchmarkConfig, calibrate_on_val, run_benchmark
    from keylike.model.merging import MergeConfig, merge_adapter
    from keylike.model.training import TrainConfig, train_adapter

    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False  # float32 as on a CPU
    params = load_params(params_path)
    params["benchmark"]["dtype"] = "float32"
    started = time.perf_counter()
    trained = train_adapter(TrainConfig.from_params(params), split_dir=split, images_dir=images,
                            out_dir=workdir / "adapter", checkpoints_dir=workdir / "checkpoints")
    merge_config = MergeConfig.from_params(params)
    merge_adapter(merge_config, adapter_dir=workdir / "adapter", out_dir=workdir / "merged",
                  finalize=lambda folder: calibrate_on_val(folder, split, images, merge_config.min_presented_accuracy,
                                                           dtype="float32"))
    metrics = run_benchmark(BenchmarkConfig.from_params(params), workdir / "merged", split, images).metrics
    return {
        **{name: metrics[name] for name in REPORTED},
        "ece": metrics["calibration"]["ece"],
        "temperature": metrics["calibration"]["temperature"],
        "presented": metrics["presented"],
        "keyway_accuracy_by_keyway": {k: v["keyway_accuracy"] for k, v in metrics["per_keyway"].items()},
        "train_wall_time_s": trained.metrics["wall_time_s"],
        "train_samples_per_second": trained.metrics["samples_per_second"],
        "total_wall_time_s": round(time.perf_counter() - started, 1),
    }


def _launch(name: str, overrides: dict[str, Any], seed: int, args: argparse.Namespace) -> dict[str, Any]:
    workdir = args.workdir / f"{name}-seed{seed}"
    workdir.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load(args.params.read_text())
    params["base"]["seed"] = seed
    params["train"].update(overrides)
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    command = [sys.executable, "-m", "keylike.benchmarks.finetune_sweep", "--one", str(workdir / "params.yaml"),
               "--split", str(args.split), "--images", str(args.images), "--workdir", str(workdir)]
    with (workdir / "log.txt").open("w") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    result_path = workdir / "result.json"
    result = json.loads(result_path.read_text()) if done.returncode == 0 and result_path.is_file() else {
        "error": f"exit {done.returncode}; see {workdir / 'log.txt'}"}
    print(f"{name} seed {seed}: {json.dumps(result)}", flush=True)
    return {"variant": name, "overrides": overrides, "seed": seed, **result}


def main(argv: list[str] | None = None) -> None:
    """Run every (variant, seed) in parallel subprocesses and write one JSON of their results."""
    parser = argparse.ArgumentParser(prog="python -m keylike.benchmarks.finetune_sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params the variants start from")
    parser.add_argument("--split", type=Path, default=Path("data/split"))
    parser.add_argument("--images", type=Path, default=Path("data/ingested"))
    parser.add_argument("--variants", default='{"default": {}}', help="JSON: name -> train params to override")
    parser.add_argument("--seeds", type=int, nargs="+", default=[3407], help="training seeds (base.seed)")
    parser.add_argument("--parallel", type=int, default=1, help="runs at a time")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/keylike_sweep"))
    parser.add_argument("--out", type=Path, default=Path("metrics/benchmarks/finetune_sweep.json"))
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        write_json(args.workdir / "result.json", run_variant(args.one, args.split, args.images, args.workdir))
        return
    variants = json.loads(args.variants)
    jobs = [(name, overrides, seed) for name, overrides in variants.items() for seed in args.seeds]
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        results = list(pool.map(lambda job: _launch(*job, args), jobs))
    command = "python -m keylike.benchmarks.finetune_sweep " + " ".join(argv if argv is not None else sys.argv[1:])
    write_json(args.out, {"command": command, "runs": results})


if __name__ == "__main__":
    main()
