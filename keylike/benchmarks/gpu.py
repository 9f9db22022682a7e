"""GPU benchmark of the production recipe on one GPU: training with each backend, then inference.

Builds a full-size Gemma 3n E4B with random weights (keylike.model.full_size; nothing is downloaded),
renders synthetic 768 px key photos, and measures what issue 10 asks for. Phases (`--phases`):

- `probe`: one LoRA training step of the production profile's adapter (keylike.model.training.lora_config:
  the library's targets, rank, alpha and dropout) in plain PyTorch at several batch sizes, with and without gradient checkpointing: the ceiling a trainer
  can reach, and where the time goes.
- `vision`: the vision tower alone, eager / channels-last / compiled, at batch 1 and batched.
- `generate`: `keylike.model.inference.generate_answers` (the serving path) with each inference
  setting: batch-1 latency of the full answer (p50/p95) and images/s per batch size.
- `cold`: process start to first answer in a fresh process, with `--setting`.
- `train` (alone, one process per backend: unsloth patches transformers): keylike's `train_adapter`
  on the production profile plus `--train-set` overrides, each optimiser step timed; with
  `--train-set train.processes=N` it starts N processes under accelerate launch (DDP), as the train stage does.
- `summarize`: combine the JSON of several runs (`--inputs`) into one result with the targets.

    PYTHONUNBUFFERED=1 python -m keylike.benchmarks.gpu --out run.json --phases vision,generate
    python -m keylike.benchmarks.gpu --phases train --backend hf --label hf-bf16-b8 --recipe bf16-b8 \
        --model-dir /tmp/e4b --out train.json --train-set train.load_in_4bit=false --train-set train.batch_size=8
    python -m keylike.benchmarks.gpu --phases summarize --inputs run.json train.json \
        --out metrics/benchmarks/gpu_h200.json

(metrics/benchmarks/gpu_notes.md: the runs behind gpu_h200.json, and what each change did.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from keylike.benchmarks import PROCESS_START, command_line, merge_results
from keylike.benchmarks.gpu_inference import SETTINGS, VISION_FORMS, cold_start, first_answer, time_generation, time_vision
from keylike.benchmarks.gpu_inputs import synthetic_images
from keylike.benchmarks.gpu_probe import probe_training
from keylike.benchmarks.gpu_profile import production_params
from keylike.benchmarks.gpu_summary import summarize
from keylike.benchmarks.gpu_training import benchmark_training, import_backend_first, training_params
from keylike.benchmarks.machine import environment
from keylike.model.training import TrainConfig
from keylike.model.training.launch import launch_training, needs_launch


def _write(path: Path, results: dict[str, Any]) -> None:
    from keylike.io import write_json

    write_json(path, results)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m keylike.benchmarks.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("metrics/benchmarks/gpu_h200.json"))
    parser.add_argument("--phases", default="probe,vision,generate,cold")
    parser.add_argument("--model-dir", type=Path, default=Path("/tmp/gemma-3n-e4b-random"))
    parser.add_argument("--settings", default="dynamic,static-cudagraphs,static-cudagraphs-vision")
    parser.add_argument("--setting", default="static-cudagraphs-vision", help="setting of `cold` and `first-answer`")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params of the production profile (probe, train)")
    parser.add_argument("--probe-batches", default="8,16,32")
    parser.add_argument("--vision-forms", default=",".join(VISION_FORMS))
    parser.add_argument("--generate-batches", default="8,32,64,128")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--backend", default="hf", help="backend of the `train` phase (run alone, one process each)")
    parser.add_argument("--label", default="hf", help="name of the `train` phase's result")
    parser.add_argument("--work", default="/tmp/keylike-train-bench", help="scratch folder of the `train` phase")
    parser.add_argument("--profile", default="production", help="GPU profile of the `train` phase (production, h200)")
    parser.add_argument("--train-set", action="append", default=[], metavar="BLOCK.KEY=VALUE",
                        help="override of the production profile for the `train` phase")
    parser.add_argument("--inputs", nargs="*", default=[], help="run results the `summarize` phase combines")
    parser.add_argument("--recipe", default="", help="recipe name of the `train` phase (backends compared per recipe)")
    parser.add_argument("--budget-s", type=float, default=540.0, help="skip phases that would start after this")
    args = parser.parse_args(argv)
    phases = args.phases.split(",")

    if phases == ["summarize"]:
        _write(args.out, summarize([json.loads(Path(p).read_text()) for p in args.inputs]))
        return
    if phases == ["train"]:
        import_backend_first(args.backend)  # TrainConfig imports transformers
        params = training_params(args.backend, args.model_dir, args.train_set, args.params, args.profile)
        config = TrainConfig.from_params(params)
        if needs_launch(config):  # train.processes > 1: this process starts that many copies of itself
            launch_training(config, ["keylike.benchmarks.gpu", *(sys.argv[1:] if argv is None else argv)])
            return
        entry = benchmark_training(params, Path(args.work), args.train_set, args.profile)
        if entry is None:  # not the first of several processes
            return
        entry |= {"recipe": args.recipe}
        new = {"training": {args.label: entry | {"command": command_line("keylike.benchmarks.gpu", argv), "environment": environment()}}}
        results = json.loads(args.out.read_text()) if args.out.is_file() else {}
        _write(args.out, merge_results(results, new))
        print("train", args.label, {k: v for k, v in new["training"][args.label].items() if k not in ("train_params", "metrics")})
        return
    if phases == ["first-answer"]:
        print(json.dumps({"process_start": PROCESS_START}))
        print(json.dumps(first_answer(args.model_dir, SETTINGS[args.setting])))
        return

    import torch

    deadline = PROCESS_START + args.budget_s
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results = merge_results(results, {"command": command_line("keylike.benchmarks.gpu", argv), "environment": environment()})
    from keylike.model.full_size import build_model, build_processor, save_full_size

    started = time.perf_counter()
    model = build_model()
    torch.cuda.synchronize()
    processor = build_processor()
    results["model"] = {"build_s": time.perf_counter() - started, "parameters": sum(p.numel() for p in model.parameters()),
                        "dtype": "bfloat16", "image_size": 768, "image_tokens": 256}
    started = time.perf_counter()
    samples = synthetic_images(64)
    results["model"]["render_64_images_s"] = time.perf_counter() - started
    images = [image for image, _ in samples]
    _write(args.out, results)
    print("model", results["model"], flush=True)

    if "cold" in phases and not (args.model_dir / "config.json").is_file():
        started = time.perf_counter()
        save_full_size(args.model_dir, model, processor)
        results["model"]["save_s"] = time.perf_counter() - started

    if "probe" in phases and time.time() < deadline:
        config = TrainConfig.from_params(production_params(args.params))
        results["probe"] = probe_training(model, processor, samples, [int(b) for b in args.probe_batches.split(",")], config)
        torch.cuda.empty_cache()
        _write(args.out, results)
    if "vision" in phases and time.time() < deadline:
        results["vision"] = time_vision(model, args.vision_forms.split(","), [1, 32])
        _write(args.out, results)
    if "generate" in phases:
        results.setdefault("generate", {})
        for name in args.settings.split(","):
            if time.time() > deadline:
                results["generate"][name] = {"skipped": "time budget"}
                continue
            baseline = SETTINGS[name].compile_backend is None  # seconds per answer: fewer, smaller runs
            batches = [int(b) for b in args.generate_batches.split(",") if b]
            results["generate"][name] = time_generation(model, processor, images, SETTINGS[name],
                                                        batches[-2:-1] if baseline else batches,
                                                        min(args.repeats, 3) if baseline else args.repeats, deadline)
            _write(args.out, results)
    if "cold" in phases and time.time() < deadline:
        del model
        torch.cuda.empty_cache()
        results["cold"] = cold_start(args.model_dir, args.setting)
        print("cold", results["cold"], flush=True)
        _write(args.out, results)
    print(json.dumps(results, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
