"""`keylike merge`: the merge stage's library call; the smoke answer printed, one-line errors."""

import json
from pathlib import Path

import torch
import yaml

from keylike.cli import main
from keylike.config import load_params

REPO = Path(__file__).resolve().parents[2]
torch.set_num_threads(1)


def test_merge_command_merges_and_prints_the_smoke_answer(tmp_path, make_adapter, capsys):
    params = load_params(REPO / "params.yaml")
    params["train"].update(base_model="tiny", image_size=64)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    adapter, _ = make_adapter(tmp_path / "adapter")
    rc = main([
        "merge", "--params", str(tmp_path / "params.yaml"), "--adapter", str(adapter),
        "--out", str(tmp_path / "merged"), "--metrics", str(tmp_path / "merge.json"),
    ])  # fmt: skip
    assert rc == 0
    metrics = json.loads((tmp_path / "merge.json").read_text())
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert out.startswith(f"merged model in {tmp_path / 'merged'} ({metrics['dtype']}); smoke answer ")
    assert repr(metrics["smoke_answer"]) in out


def test_merge_command_without_an_adapter_exits_with_one_line(tmp_path, capsys):
    rc = main(["merge", "--params", str(REPO / "params.yaml"), "--adapter", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("keylike merge: error: adapter folder") and "dvc repro train" in err
    assert err.count("\n") == 1
