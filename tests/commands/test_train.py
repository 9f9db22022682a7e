"""`keylike train`: the train stage's library call; a short summary line, one-line errors."""

from pathlib import Path

import torch
import yaml

from keylike.cli import main
from keylike.config import load_params

REPO = Path(__file__).resolve().parents[2]
torch.set_num_threads(1)


def test_train_command_writes_the_adapter_and_prints_losses(tmp_path, tiny_split, capsys):
    params = load_params(REPO / "params.yaml")
    params["train"].update(max_steps=2, eval_steps=2, save_steps=2, batch_size=2)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    rc = main([
        "train", "--params", str(tmp_path / "params.yaml"), "--split", str(tiny_split.split_dir),
        "--images", str(tiny_split.images_dir), "--out", str(tmp_path / "adapter"),
        "--checkpoints", str(tmp_path / "checkpoints"), "--metrics", str(tmp_path / "train.json"),
        "--plots", str(tmp_path / "plots"),
    ])  # fmt: skip
    assert rc == 0
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert out.startswith(f"adapter in {tmp_path / 'adapter'}: 2 steps, train loss ") and "eval loss" in out


def test_train_command_without_a_split_exits_with_one_line(tmp_path, capsys):
    rc = main(["train", "--params", str(REPO / "params.yaml"), "--split", str(tmp_path / "nowhere")])
    assert rc == 1
    err = capsys.readouterr().err
    assert err.startswith("keylike train: error: split file") and "dvc repro split" in err
    assert err.count("\n") == 1
