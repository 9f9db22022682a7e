"""The tiny-model learning benchmark runs its variants end to end on a tiny split and records them."""

import json
from pathlib import Path

import torch
import yaml

from keylike.benchmarks.tiny_learning import HEADLINE, main
from keylike.config import load_params

REPO = Path(__file__).resolve().parents[2]
torch.set_num_threads(1)


def test_benchmark_records_each_variant_and_the_chance_levels(tmp_path, tiny_split):
    params = load_params(REPO / "params.yaml")
    params["train"].update(max_steps=2, eval_steps=2, save_steps=2, batch_size=2)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "tiny_learning.json"
    main(["--params", str(tmp_path / "params.yaml"), "--split", str(tiny_split.split_dir),
          "--images", str(tiny_split.images_dir), "--variants", "default", "no_centering", "--out", str(out)])
    result = json.loads(out.read_text())
    assert list(result["variants"]) == ["default", "no_centering"]
    for variant in result["variants"].values():
        assert variant["steps"] == 2 and set(HEADLINE) <= set(variant)
    assert result["variants"]["no_centering"]["tiny_changes"] == {"center_image_projection": False}
    assert result["chance"]["keyway_uniform"] == round(1 / 3, 4)  # the fixture's three keyways
    assert result["command"].startswith("python -m keylike.benchmarks.tiny_learning --params")
