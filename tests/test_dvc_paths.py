"""Default paths of the commands come from the stages' `cmd:` lines in dvc.yaml."""

from pathlib import Path

import pytest
import yaml

from keylike.cli import main
from keylike.commands import command_parser
from keylike.dvc_paths import find_dvc_yaml, stage_dvc_yaml, stage_paths

REPO = Path(__file__).resolve().parents[1]


def test_stage_paths_read_the_flags_of_the_stage_command(tmp_path: Path) -> None:
    dvc_yaml = tmp_path / "dvc.yaml"
    dvc_yaml.write_text(yaml.safe_dump({"stages": {"train": {"cmd": "python stages/train.py --params p.yaml --out 'my models/a'"}}}))
    assert stage_paths("train", dvc_yaml) == {"--params": Path("p.yaml"), "--out": Path("my models/a")}
    assert stage_paths("merge", dvc_yaml) == {}


def test_every_stage_path_of_the_real_pipeline_is_a_command_default() -> None:
    for verb in ("ingest", "validate", "split", "train", "merge", "export", "benchmark"):
        paths = stage_paths(verb, REPO / "dvc.yaml")
        assert paths, verb
        args = command_parser(verb)[0].parse_args([])
        assert {flag: getattr(args, flag[2:].replace("-", "_")) for flag in paths} == paths


def test_the_working_folders_dvc_yaml_comes_first(tmp_path: Path) -> None:
    assert find_dvc_yaml(REPO) == REPO / "dvc.yaml"
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    assert find_dvc_yaml(tmp_path) == tmp_path / "dvc.yaml"


def test_a_path_flag_without_a_pipeline_default_is_required(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["split"])
    assert exit_info.value.code == 2 and "the following arguments are required: --params" in capsys.readouterr().err


def test_from_a_subfolder_the_paths_lead_to_the_pipelines_files(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "dvc.yaml").write_text("stages:\n  merge:\n    cmd: python stages/merge.py --out data/models/merged\n")
    nested = tmp_path / "data" / "base"  # a pipeline of its own, without a merge stage
    nested.mkdir(parents=True)
    (nested / "dvc.yaml").write_text("stages:\n  pretrain:\n    cmd: python run.py --out model\n")
    monkeypatch.chdir(nested)
    assert find_dvc_yaml() == nested / "dvc.yaml"
    assert stage_dvc_yaml("merge") == Path("../../dvc.yaml")
    assert stage_paths("merge") == {"--out": Path("../models/merged")}
    assert stage_paths("pretrain") == {"--out": Path("model")}
    monkeypatch.chdir(tmp_path)
    assert stage_dvc_yaml("merge") == Path("dvc.yaml") and stage_paths("merge") == {"--out": Path("data/models/merged")}
