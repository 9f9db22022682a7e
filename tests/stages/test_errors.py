"""A stage that stops on bad input prints one line naming the problem and exits with its code: no traceback."""

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
