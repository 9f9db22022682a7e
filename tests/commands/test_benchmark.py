"""`keylike benchmark`: the stage's library call with flag overrides; headline metrics printed as JSON."""

import json
from pathlib import Path

import torch

from keylike.cli import main
from keylike.io import read_metrics

REPO = Path(__file__).resolve().parents[2]
torch.set_num_threads(1)


def test_benchmark_command_prints_headline_metrics(tmp_path, tiny_lora, tiny_split, capsys):
    rc = main([
        "benchmark", "--params", str(REPO / "params.yaml"), "--model", str(tiny_lora.merged_dir),
        "--split", str(tiny_split.split_dir), "--images", str(tiny_split.images_dir),
        "--metrics", str(tmp_path / "benchmark.json"), "--plots", str(tmp_path / "plots"),
        "--batch-size", "2", "--device", "cpu",
    ])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    written = read_metrics(tmp_path / "benchmark.json")
    assert printed["test_images"] == written["test_images"] == len(tiny_split.records["test"])
    assert printed["latency"]["batch_size"] == 2  # the flag overrides benchmark.batch_size
    assert "per_keyway" not in printed and "per_keyway" in written


def test_benchmark_command_without_a_split_exits_with_one_line(tmp_path, capsys):
    rc = main(["benchmark", "--params", str(REPO / "params.yaml"), "--split", str(tmp_path / "nowhere")])
    assert rc == 1
    err = capsys.readouterr().err
    assert err.startswith("keylike benchmark: error: split file") and "run `keylike split`" in err
    assert err.count("\n") == 1
