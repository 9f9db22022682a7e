"""`keylike export`: the export stage's command on the tiny model; the metrics printed, one-line errors."""

import json
from pathlib import Path

import torch
import yaml

from keylike.cli import main
from keylike.io import read_metrics

REPO = Path(__file__).resolve().parents[2]
torch.set_num_threads(1)


def test_export_command_builds_the_chosen_format_and_prints_the_metrics(tmp_path, tiny_lora, tiny_split, capsys):
    # the tiny model is random, so its greedy answers sit near ties that a merge's rounding can flip: this test
    # is about the command, so no agreement is required (tests/model/test_export.py checks parity itself)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["export"]["min_agreement"] = 0.0
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    rc = main(["export", "--params", str(tmp_path / "params.yaml"), "--adapter", str(tiny_lora.adapter_dir),
               "--merged", str(tiny_lora.merged_dir), "--split", str(tiny_split.split_dir), "--images",
               str(tiny_split.images_dir), "--out", str(tmp_path / "export"), "--metrics", str(tmp_path / "export.json"),
               "--formats", "merged", "--device", "cpu"])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == read_metrics(tmp_path / "export.json")
    assert list(printed["formats"]) == ["merged"] and printed["reference"]["runtime"] == "transformers+peft"


def test_export_command_without_a_merged_model_exits_with_one_line(tmp_path, tiny_lora, capsys):
    rc = main(["export", "--params", str(REPO / "params.yaml"), "--adapter", str(tiny_lora.adapter_dir),
               "--merged", str(tmp_path / "nowhere"), "--out", str(tmp_path / "export")])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("keylike export: error: merged model folder") and err.count("\n") == 1
