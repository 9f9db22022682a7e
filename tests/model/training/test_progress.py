"""What training prints: labelled bars and one line of unquoted numbers per log event, on a real run."""

import re
from dataclasses import replace
from pathlib import Path

import torch
from transformers import ProgressCallback

from keylike.config import load_params
from keylike.model.dataset import build_dataset
from keylike.model.training import TrainConfig, load_backend
from keylike.model.training.progress import LogLines, format_log
from keylike.model.training.trainer import build_trainer, sft_config

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[3]
TINY = {"backend": "hf", "base_model": "tiny", "load_in_4bit": False, "precision": "fp32", "image_size": 64,
        "lora_scope": "language", "max_steps": 2, "logging_steps": 1, "eval_steps": 2, "save_steps": 2}


def test_a_log_event_is_one_line_of_numbers():
    line = format_log(10, 88, {"loss": 1.23456, "grad_norm": 0.5, "learning_rate": 9.5e-05, "epoch": 0.4545, "total_flos": 3.0})
    assert line == "step 10/88  loss 1.235  grad_norm 0.5  learning_rate 9.5e-05  epoch 0.4545"


def test_training_prints_labelled_bars_and_plain_numbers(tiny_split, tmp_path, capsys):
    config = replace(TrainConfig.from_params(load_params(REPO / "params.yaml")), **TINY)
    backend = load_backend(config)
    datasets = [build_dataset(tiny_split.records[name], tiny_split.images_dir, backend.row_format) for name in ("train", "val")]
    trainer = build_trainer(backend, *datasets, sft_config(config, tmp_path))
    assert [type(c) for c in trainer.callback_handler.callbacks if isinstance(c, ProgressCallback)] == [LogLines]
    trainer.train()
    out, err = capsys.readouterr()
    logged = [line for line in out.splitlines() if line.startswith("step ")]
    number = r"-?[0-9][0-9.e+-]*"
    assert all(re.fullmatch(rf"step [12]/2(  [a-z_]+ {number})+", line) for line in logged), logged
    assert logged[0].startswith("step 1/2  loss ") and any(line.startswith("step 2/2  eval_loss ") for line in logged)
    assert "'" not in out and "{" not in out
    assert not re.search(r"(^|[\r\n])\s*\d+%\|", err), "a bar without a label"
    assert re.search(r"train: 100%.*2/2 .*step", err) and re.search(r"eval: 100%.*batch", err)
