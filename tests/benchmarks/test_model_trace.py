"""keylike.benchmarks.model_trace: one training step hashed module by module repeats, and compare finds where it parts."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from keylike.benchmarks.model_trace import first_differences, main, trace
from keylike.config import load_params

REPO = Path(__file__).resolve().parents[2]


def _tiny_params(tmp_path: Path) -> Path:
    params = load_params(REPO / "params.yaml")
    params["train"].update(base_model="tiny", image_size=64, lora_scope="encoder")
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_a_training_step_hashes_the_same_twice_in_forward_order(tmp_path, tiny_model_dir):
    params = _tiny_params(tmp_path)
    first, second = trace(params), trace(params)
    assert first == second
    names = list(first)
    assert names[0].startswith("forward:") and names[-1] == "adamw_step"
    assert any(name.startswith("grad:") and "lora_A" in name for name in names)  # the LoRA the train stage adds
    assert names.index("loss") < min(names.index(n) for n in names if n.startswith("grad:"))
    backward = [n for n in names if n.startswith("backward:")]  # gradients at module outputs, last module first
    assert backward and names.index("loss") < names.index(backward[0]) and backward[-1].endswith("lora_A.default")


def test_compare_names_the_first_module_that_differs(tmp_path, capsys):
    first = {"forward:a": "1", "forward:b": "2", "loss": "3", "adamw_step": "4"}
    second = {"forward:a": "1", "forward:b": "x", "loss": "y", "adamw_step": "4"}
    assert first_differences(first, second) == ["forward:b", "loss"]
    for name, hashes in (("a.json", first), ("b.json", second)):
        (tmp_path / name).write_text(json.dumps({"trace": list(hashes.items())}))
    main(["--compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert json.loads(capsys.readouterr().out) == {"compared": 4, "differing": 2, "first": ["forward:b", "loss"]}
