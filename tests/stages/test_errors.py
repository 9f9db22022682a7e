"""A stage that stops on bad input prints one line naming the problem and exits with its code: no traceback."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

from keylike.config import load_params

REPO = Path(__file__).resolve().parents[2]


def test_a_bad_param_stops_the_stage_with_one_line(tmp_path: Path) -> None:
    params = load_params(REPO / "params.yaml")
    params["train"]["lr_scheduler"] = "cosine_annealing"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = subprocess.run(
        [sys.executable, str(REPO / "stages" / "train.py"), "--params", str(tmp_path / "params.yaml"), "--split",
         str(tmp_path), "--images", str(tmp_path), "--out", str(tmp_path / "a"), "--checkpoints", str(tmp_path / "c"),
         "--metrics", str(tmp_path / "m.json"), "--plots", str(tmp_path / "p")],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("train: error: train.lr_scheduler must be one of transformers' schedulers")
    assert not (tmp_path / "a").exists()


def test_a_failed_validation_under_dvc_repro_is_its_message_without_a_traceback(tmp_path: Path, checkout) -> None:
    project = checkout(tmp_path / "proj")
    (project.path / "ingested").mkdir(parents=True)
    record = {"id": "mine-L1", "image": "images/missing.jpg", "sha256": "0" * 64, "width": 64, "height": 64,
              "source": "mine", "keyway": "SC1", "bitting": [1, 2, 5, 3, 7], "brand": "Schlage"}
    (project.path / "ingested" / "manifest.jsonl").write_text(json.dumps(record) + "\n")
    (project.path / "ingested" / "quarantine.jsonl").write_text("")
    (project.path / "params.yaml").write_text(yaml.safe_dump({"validate": load_params(REPO / "params.yaml")["validate"]}))
    command = (f"{sys.executable} {REPO / 'stages' / 'validate.py'} --params params.yaml --data ingested --docs docs "
               "--metrics validation.json")
    (project.path / "dvc.yaml").write_text(yaml.safe_dump(
        {"stages": {"validate": {"cmd": command, "deps": ["ingested"], "params": ["validate"]}}}))
    project.git("init", "-q", "-b", "main")
    project.dvc("init", "-q")
    result = project.dvc("repro", check=False, timeout=300, env={"PYTHONPATH": str(REPO)})
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    assert output.count("validate: error: validation of ingested failed:") == 1
    assert "mine-L1 (images/missing.jpg)" in output
