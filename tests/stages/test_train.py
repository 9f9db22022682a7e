"""Stage `train` on the tiny model: outputs, bit-identical reruns, and a killed run that resumes."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from keylike.config import load_params
from keylike.io import read_metrics

REPO = Path(__file__).resolve().parents[2]
STAGE = REPO / "stages" / "train.py"


def write_params(path: Path, **train) -> Path:
    """The committed params with a short tiny-model run (overridable), on one thread: some tests run several
    training processes at once."""
    params = load_params(REPO / "params.yaml")
    params["train"].update(
        {"backend": "hf", "base_model": "tiny", "image_size": 64, "load_in_4bit": False, "precision": "fp32",
         "batch_size": 4, "grad_accum": 1, "max_steps": 9, "logging_steps": 1, "eval_steps": 5, "save_steps": 3,
         "cpu_threads": 1, **train}
    )
    path.write_text(yaml.safe_dump(params))
    return path


def stage_args(params: Path, split, out: Path) -> list[str]:
    return [
        "--params", str(params), "--split", str(split.split_dir), "--images", str(split.images_dir),
        "--out", str(out / "adapter"), "--checkpoints", str(out / "checkpoints"),
        "--metrics", str(out / "train.json"), "--plots", str(out / "plots"),
    ]  # fmt: skip


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def run_stage(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(STAGE), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_stage_writes_adapter_metrics_and_curves(stage, tiny_split, tmp_path):
    stage.main(stage_args(write_params(tmp_path / "params.yaml"), tiny_split, tmp_path))
    metrics = read_metrics(tmp_path / "train.json")
    assert metrics["steps"] == 9 and metrics["resumed_from_step"] == 0
    assert metrics["trainable_params"] > 0 and metrics["peak_memory_mb"] > 0 and metrics["samples_per_second"] > 0
    assert {"train_loss", "eval_loss", "wall_time_s"} <= set(metrics)
    assert {"adapter_config.json", "adapter_model.safetensors", "keylike_train.json", "tokenizer.json"} <= set(digests(tmp_path / "adapter"))
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"] == "tiny"
    losses = (tmp_path / "plots" / "loss.tsv").read_text().splitlines()
    assert losses[0] == "step\tloss" and len(losses) == 1 + 9
    assert (tmp_path / "plots" / "eval_loss.tsv").read_text().splitlines()[1].startswith("5\t")
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["keylike_checkpoints.json"]


def test_killed_run_resumes_to_the_same_adapter(tiny_split, tmp_path):
    """Uninterrupted run vs a run SIGKILLed after its first checkpoint and started again: same bytes."""
    params = write_params(tmp_path / "params.yaml", max_steps=12, save_steps=4)
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert run_stage(stage_args(params, tiny_split, whole)).wait(timeout=600) == 0

    process = run_stage(stage_args(params, tiny_split, killed))
    deadline = time.monotonic() + 600
    while not list((killed / "checkpoints").glob("checkpoint-*/trainer_state.json")):
        assert process.poll() is None, f"train ended before its first checkpoint: {process.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "adapter").exists()

    rerun = run_stage(stage_args(params, tiny_split, killed))
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read()[-2000:]
    metrics = read_metrics(killed / "train.json")
    assert 4 <= metrics["resumed_from_step"] < 12
    assert digests(killed / "adapter") == digests(whole / "adapter")
    assert (killed / "plots" / "loss.tsv").read_text() == (whole / "plots" / "loss.tsv").read_text()


def test_changed_params_do_not_resume_old_checkpoints(stage, tiny_split, tmp_path):
    (tmp_path / "checkpoints" / "checkpoint-3").mkdir(parents=True)
    (tmp_path / "checkpoints" / "checkpoint-3" / "trainer_state.json").write_text("{}")
    stage.main(stage_args(write_params(tmp_path / "params.yaml", max_steps=2), tiny_split, tmp_path))
    assert read_metrics(tmp_path / "train.json")["resumed_from_step"] == 0


def test_two_processes_resume_and_match_one_process_with_the_same_global_batch(tiny_model_dir, tiny_split, tmp_path):
    """train.processes=2 (DDP over gloo, 2 CPU processes, 1 thread each), killed after its first checkpoint
    and started again, against one uninterrupted process; global batch 4 in both.

    Close, not equal: each process takes 2 of the 4 images, and transformers counts the answer tokens of
    all processes (average_tokens_across_devices), so the loss is the same token-weighted mean as in one
    process; only the order of the float sums differs (the two halves' gradients are added by gloo). The
    validation loss is a mean of per-batch means (no token count across processes there): batches of 2
    images instead of 3 weigh the answers a little differently (0.3% here)."""
    import torch
    from peft import PeftModel

    from keylike.model.loading import load_base_model

    runs = {n: tmp_path / f"p{n}" for n in (1, 2)}
    args = {n: stage_args(write_params(tmp_path / f"p{n}.yaml", max_steps=6, save_steps=3, eval_steps=3, processes=n), tiny_split, out)
            for n, out in runs.items()}

    def start(n: int, log: str) -> subprocess.Popen:  # output to a file: two processes' logs can fill a pipe
        with open(tmp_path / log, "w") as handle:
            return subprocess.Popen([sys.executable, str(STAGE), *args[n]], stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)

    one, killed = start(1, "one.log"), start(2, "killed.log")
    deadline = time.monotonic() + 600
    while not list((runs[2] / "checkpoints").glob("checkpoint-*/trainer_state.json")):
        assert killed.poll() is None and time.monotonic() < deadline, (tmp_path / "killed.log").read_text()[-3000:]
        time.sleep(0.05)
    os.killpg(killed.pid, signal.SIGKILL)  # the stage and the launcher; the training processes die with it
    killed.wait()
    assert not (runs[2] / "adapter").exists()
    for process, log in ((start(2, "rerun.log"), "rerun.log"), (one, "one.log")):
        assert process.wait(timeout=600) == 0, (tmp_path / log).read_text()[-3000:]

    one, two = (read_metrics(out / "train.json") for out in runs.values())
    assert (one["processes"], two["processes"], one["steps"], two["steps"]) == (1, 2, 6, 6)
    assert two["resumed_from_step"] >= 3
    curves = [[float(row.split("\t")[1]) for row in (out / "plots" / "loss.tsv").read_text().splitlines()[1:]] for out in runs.values()]
    assert curves[1][-1] < curves[1][0]
    assert curves[1] == pytest.approx(curves[0], rel=1e-4)
    assert two["eval_loss"] == pytest.approx(one["eval_loss"], rel=1e-2)
    assert [p.name for p in (runs[2] / "checkpoints").iterdir()] == ["keylike_checkpoints.json"]

    weights = []
    for out in runs.values():
        model = PeftModel.from_pretrained(load_base_model("tiny", image_size=64)[0], out / "adapter")
        weights.append({name: p.detach() for name, p in model.named_parameters() if "lora_" in name})
    assert weights[1].keys() == weights[0].keys() and weights[0]
    assert all(torch.allclose(weights[1][name], weights[0][name], atol=1e-4) for name in weights[0])
    assert any(weights[0][name].abs().max() > 1e-3 for name in weights[0] if "lora_B" in name)
