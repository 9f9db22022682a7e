"""Stage `train` on the tiny model: outputs, bit-identical reruns, and a killed run that resumes."""

import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from keylike.config import load_params

REPO = Path(__file__).resolve().parents[2]
STAGE = REPO / "stages" / "train.py"
_spec = importlib.util.spec_from_file_location("stage_train", STAGE)
stage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stage)


def write_params(path: Path, **train) -> Path:
    """The committed params with a short tiny-model run (overridable)."""
    params = load_params(REPO / "params.yaml")
    params["train"].update(
        {"backend": "hf", "base_model": "tiny", "image_size": 64, "load_in_4bit": False, "precision": "fp32",
         "batch_size": 4, "grad_accum": 1, "max_steps": 9, "logging_steps": 1, "eval_steps": 5, "save_steps": 3, **train}
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


def test_stage_writes_adapter_metrics_and_curves(tiny_split, tmp_path):
    stage.main(stage_args(write_params(tmp_path / "params.yaml"), tiny_split, tmp_path))
    metrics = json.loads((tmp_path / "train.json").read_text())
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
    metrics = json.loads((killed / "train.json").read_text())
    assert 4 <= metrics["resumed_from_step"] < 12
    assert digests(killed / "adapter") == digests(whole / "adapter")
    assert (killed / "plots" / "loss.tsv").read_text() == (whole / "plots" / "loss.tsv").read_text()


def test_changed_params_do_not_resume_old_checkpoints(tiny_split, tmp_path):
    (tmp_path / "checkpoints" / "checkpoint-3").mkdir(parents=True)
    (tmp_path / "checkpoints" / "checkpoint-3" / "trainer_state.json").write_text("{}")
    stage.main(stage_args(write_params(tmp_path / "params.yaml", max_steps=2), tiny_split, tmp_path))
    assert json.loads((tmp_path / "train.json").read_text())["resumed_from_step"] == 0
