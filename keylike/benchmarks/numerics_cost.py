"""What the pinned CPU numerics cost: the train stage's steps with the pins and with the machine's own numerics.

Runs the real train stage (the committed params, `--steps` optimiser steps on the pipeline's split) twice
in fresh processes, pinned (keylike.numerics) and with KEYLIKE_NATIVE_NUMERICS=1, and records the
trainer's steady samples/s and the adapter hash of each (they differ on a CPU with AVX-512):

    python -m keylike.benchmarks.numerics_cost --steps 24 --out metrics/benchmarks/numerics_cost.json
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from keylike.benchmarks import command_line
from keylike.benchmarks.machine import machine, unpinned_environment
from keylike.io import read_metrics, write_json
from keylike.numerics import NATIVE

STAGE = Path(__file__).resolve().parents[2] / "stages" / "train.py"


def train_once(params: Path, split: Path, images: Path, steps: int, native: bool, work: Path) -> dict[str, Any]:
    """One run of the train stage for `steps` steps; its samples/s, wall time and adapter sha256."""
    config = yaml.safe_load(params.read_text())
    config["train"].update(max_steps=steps, eval_steps=steps, save_steps=steps)
    (work / "params.yaml").write_text(yaml.safe_dump(config))
    env = unpinned_environment() | ({NATIVE: "1"} if native else {})
    subprocess.run([sys.executable, str(STAGE), "--params", str(work / "params.yaml"), "--split", str(split), "--images",
                    str(images), "--out", str(work / "adapter"), "--checkpoints", str(work / "ckpt"), "--metrics",
                    str(work / "train.json"), "--plots", str(work / "plots")], env=env, check=True, capture_output=True)
    metrics = read_metrics(work / "train.json")
    weights = (work / "adapter" / "adapter_model.safetensors").read_bytes()
    return {"samples_per_second": metrics["samples_per_second"], "wall_time_s": metrics["wall_time_s"],
            "adapter_sha256": hashlib.sha256(weights).hexdigest()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="numerics_cost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="default: %(default)s")
    parser.add_argument("--split", type=Path, default=Path("data/split"), help="default: %(default)s")
    parser.add_argument("--images", type=Path, default=Path("data/ingested"), help="default: %(default)s")
    parser.add_argument("--steps", type=int, default=24, help="optimiser steps per run (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="result JSON")
    args = parser.parse_args(argv)
    runs = {}
    for name, native in (("pinned", False), ("native", True)):
        with tempfile.TemporaryDirectory() as work:
            runs[name] = train_once(args.params, args.split, args.images, args.steps, native, Path(work))
        print(name, runs[name], flush=True)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    flags = Path("/proc/cpuinfo").read_text()
    write_json(args.out, {
        "command": command_line("keylike.benchmarks.numerics_cost", argv),
        "machine": machine(cpu=cpu, avx512="avx512f" in flags),
        "steps": args.steps,
        "runs": runs,
        "slowdown": round(runs["native"]["samples_per_second"] / runs["pinned"]["samples_per_second"], 3),
    })


if __name__ == "__main__":
    main()
