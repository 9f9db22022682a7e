"""`keylike merge`: the merge stage's library call; the smoke answer printed, one-line errors."""

from pathlib import Path

import torch

from keylike.cli import main
from keylike.io import read_metrics

REPO = Path(__file__).resolve().parents[2]
torch.set_num_threads(1)


def test_merge_command_merges_and_prints_the_smoke_answer(tmp_path, make_adapter, tiny_split, capsys):
    adapter, _ = make_adapter(tmp_path / "adapter")
    rc = main([
        "merge", "--params", str(REPO / "params.yaml"), "--adapter", str(adapter), "--split", str(tiny_split.split_dir),
        "--images", str(tiny_split.images_dir), "--out", str(tmp_path / "merged"), "--metrics", str(tmp_path / "merge.json"),
    ])  # fmt: skip
    assert rc == 0
    metrics = read_metrics(tmp_path / "merge.json")
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert out.startswith(f"merged model in {tmp_path / 'merged'} ({metrics['dtype']}); smoke answer ")
    assert repr(metrics["smoke_answer"]) in out
    assert metrics["finalize"]["chosen_on"] == "val"


def test_merge_command_without_an_adapter_exits_with_one_line(tmp_path, capsys):
    rc = main(["merge", "--params", str(REPO / "params.yaml"), "--adapter", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("keylike merge: error: adapter folder") and "dvc repro train" in err
    assert err.count("\n") == 1
