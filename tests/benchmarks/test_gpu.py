"""keylike.benchmarks.gpu* and stats: the pure logic on a CPU, the benchmark pieces on the tiny model,
the full-size run itself needs the GPU (`gpu` mark)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keylike.benchmarks import merge_results
from keylike.benchmarks.gpu_inference import SETTINGS, time_generation, time_vision
from keylike.benchmarks.gpu_inputs import synthetic_images
from keylike.benchmarks.gpu_probe import probe_training
from keylike.benchmarks.gpu_profile import production_params, profile_settings
from keylike.benchmarks.gpu_proof import loss_curve
from keylike.benchmarks.gpu_summary import TARGETS, check_targets, summarize
from keylike.benchmarks.stats import steady_rate
from keylike.model.training import TrainConfig, lora_target_regex

REPO = Path(__file__).resolve().parents[2]


def test_steady_rate_skips_the_warmup_steps():
    rate = steady_rate([10.0, 1.0, 2.0, 1.0], samples_per_step=8, tokens_per_step=800, warmup=1)
    assert rate == {"steady_step_s": 1.0, "samples_per_s": 8.0, "tokens_per_s": 800.0, "steady_steps": 3}
    with pytest.raises(ValueError, match="more than 2 steps"):
        steady_rate([1.0, 1.0], 8, 800, warmup=2)


def test_check_targets_reports_met_unmet_and_unmeasured():
    report = check_targets({"train_samples_per_s": 30.0, "infer_batch1_p50_s": 0.2})
    assert set(report) == set(TARGETS)
    assert report["train_samples_per_s"] == {"target": ">= 25", "measured": 30.0, "met": True}
    assert report["infer_batch1_p50_s"]["met"] is False
    assert report["infer_cold_start_s"] == {"target": "<= 60", "measured": None, "met": None}


def test_merge_results_is_recursive():
    merged = merge_results({"a": {"x": 1, "y": 2}, "b": 1}, {"a": {"y": 3}, "c": 4})
    assert merged == {"a": {"x": 1, "y": 3}, "b": 1, "c": 4}


def _run(**sections):
    return {"command": "python -m keylike.benchmarks.gpu", "environment": {"gpu": {"name": "test"}}, **sections}


def test_summarize_takes_the_best_of_each_kind_and_compares_backends_per_recipe():
    runs = [
        _run(generate={"dynamic": {"batch1": {"p50_s": 1.9}, "batches": {"64": {"images_per_s": 19.0}}},
                       "skipped": {"skipped": "time budget"}}),
        _run(generate={"static": {"batch1": {"p50_s": 0.3}, "batches": {}}}, cold={"cold_start_s": 22.0}),
        _run(training={"hf": {"backend": "hf", "recipe": "r", "samples_per_s": 6.0, "time_to_first_step_s": 36.0},
                       "un": {"backend": "unsloth", "recipe": "r", "samples_per_s": 9.0},
                       "un4": {"backend": "unsloth", "recipe": "q", "samples_per_s": 1.0}}),
    ]
    result = summarize(runs)
    best = result["summary"]["best"]
    assert best == {"train_samples_per_s": 9.0, "train_time_to_first_step_s": 36.0, "train_backend_speedup": 1.5,
                    "infer_batch1_p50_s": 0.3, "infer_images_per_s": 19.0, "infer_cold_start_s": 22.0}
    assert result["summary"]["train_backend_speedup_by_recipe"] == {"r": 1.5}
    assert result["targets"]["train_backend_speedup"]["met"] is True
    assert result["runs"] == runs


def test_production_params_compose_the_profile_and_overrides():
    params = production_params(REPO / "params.yaml", ["train.max_steps=5", "train.learning_rate=0.001", "ingest.synthetic_count=10"])
    assert params["train"]["backend"] == "unsloth" and params["train"]["load_in_4bit"] is True
    assert params["train"]["max_steps"] == 5 and params["train"]["learning_rate"] == 0.001
    assert params["ingest"]["synthetic_count"] == 10
    assert params["ingest"]["image_size"] == 768
    assert params["ingest"]["render"] == production_params(REPO / "params.yaml")["ingest"]["render"]


def test_the_h200_profile_lies_over_production_as_its_hydra_defaults_say():
    h200 = production_params(REPO / "params.yaml", ["train.processes=2"], profile="h200")["train"]
    assert (h200["backend"], h200["load_in_4bit"], h200["batch_size"], h200["compile_layers"]) == ("hf", False, 24, True)
    assert h200["optim"] == profile_settings("production")["train"]["optim"] == "adamw_8bit"  # production's, kept
    assert h200["processes"] == 2
    with pytest.raises(ValueError, match="no profile 'h100'.*known: h200, production"):
        profile_settings("h100")


def test_the_train_phase_on_two_processes_launches_them_and_times_the_global_batch(tiny_model_dir, tmp_path):
    """`--train-set train.processes=2` starts 2 copies under accelerate launch (gloo on a CPU), as the train
    stage does: the first renders the data while the other waits, and writes the one result."""
    out = tmp_path / "run.json"
    sets = ["ingest.synthetic_count=20", "ingest.image_size=128", "train.image_size=128", "train.load_in_4bit=false",
            "train.precision=fp32", "train.batch_size=4", "train.grad_accum=1", "train.gradient_checkpointing=false",
            "train.max_steps=3", "train.logging_steps=1", "train.eval_steps=100", "train.save_steps=100",
            "train.processes=2", "train.cpu_threads=1"]
    command = [sys.executable, "-m", "keylike.benchmarks.gpu", "--phases", "train", "--backend", "hf", "--label", "two",
               "--model-dir", str(tiny_model_dir), "--work", str(tmp_path / "work"), "--out", str(out),
               *(arg for s in sets for arg in ("--train-set", s))]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    entry = json.loads(out.read_text())["training"]["two"]
    assert entry["processes"] == entry["metrics"]["processes"] == 2
    assert entry["metrics"]["steps"] == 3 and len(entry["loss_by_step"]) == 3
    assert len(entry["step_times_s"]) == 2 and entry["samples_per_s"] > 0
    assert entry["data"]["records"] == 20
    assert "--train-set train.processes=2" in entry["command"]


def test_loss_curve_keeps_training_steps_only():
    history = [{"step": 1, "loss": 3.0, "learning_rate": 0.1, "grad_norm": 2.0}, {"step": 1, "eval_loss": 2.5},
               {"step": 2, "loss": 2.0, "learning_rate": 0.05}]
    assert loss_curve(history) == [{"step": 1, "loss": 3.0, "learning_rate": 0.1, "grad_norm": 2.0},
                                   {"step": 2, "loss": 2.0, "learning_rate": 0.05}]


@pytest.fixture(scope="module")
def tiny():
    import torch

    from keylike.model.tiny import build_tiny_model

    torch.set_num_threads(1)
    return build_tiny_model()


def test_probe_and_generation_run_on_the_tiny_model(tiny, monkeypatch):
    import peft

    model, processor = tiny
    samples = synthetic_images(3, size=64)
    config = TrainConfig.from_params(production_params(REPO / "params.yaml"))
    used = []
    get_peft_model = peft.get_peft_model
    monkeypatch.setattr(peft, "get_peft_model", lambda m, lora: used.append(lora) or get_peft_model(m, lora))
    rows = probe_training(model, processor, samples, [2], config, steps=3, checkpointing_modes=(False,))
    assert rows[0]["batch_size"] == 2 and rows[0]["steady_steps"] == 1 and len(rows[0]["losses"]) == 3
    assert not any(p.requires_grad for p in model.parameters())  # the LoRA was unloaded again
    # the probe trains the library's adapter of the production profile: its targets, rank and dropout
    (lora,) = used
    assert lora.target_modules == lora_target_regex(model, config.lora_scope) and config.lora_scope == "projection"
    assert (lora.r, lora.lora_alpha, lora.lora_dropout) == (config.lora_r, config.lora_alpha, config.lora_dropout)
    result = time_generation(model, processor, [image for image, _ in samples], SETTINGS["dynamic"], [2], 2,
                                 deadline=time.time() + 60)
    assert result["batch1"]["n"] == 2 and result["batches"]["2"]["images_per_s"] > 0


@pytest.mark.gpu
def test_full_size_vision_tower_on_the_gpu():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from keylike.model.full_size import build_model

    model = build_model()
    rows = time_vision(model, ["eager"], [1], repeats=3)
    assert rows[0]["median_s"] > 0


def test_a_train_only_run_takes_its_entries_command_and_environment():
    env = {"gpu": {"name": "NVIDIA H200"}}
    run = {"training": {"a": {"command": "python -m keylike.benchmarks.gpu --phases train --label a", "environment": env,
                              "backend": "hf", "samples_per_s": 1.0},
                        "b": {"command": "python -m keylike.benchmarks.gpu --phases train --label b", "environment": env,
                              "backend": "hf", "samples_per_s": 2.0}}}
    (summarized,) = summarize([run])["runs"]
    assert summarized["command"].split(" ; ") == [run["training"]["a"]["command"], run["training"]["b"]["command"]]
    assert summarized["environment"] == env
