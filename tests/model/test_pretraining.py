"""The base-model recipe at toy size on a CPU: both phases run, the model reloads, the card names its files."""

import hashlib
import json
from pathlib import Path

import pytest
import torch
import yaml

from keylike.config import load_params
from keylike.errors import ConfigError
from keylike.model.pretraining import PretrainConfig, pretrain_base

REPO = Path(__file__).resolve().parents[2]
TOY = {"train_photos": 24, "eval_photos": 20, "image_size": 64, "tower_steps": 2, "tower_batch_size": 4,
       "decoder_steps": 2, "decoder_batch_size": 4}


def toy_config(**overrides) -> PretrainConfig:
    params = load_params(REPO / "data" / "base" / "params.yaml")
    params["pretrain"].update(TOY, **overrides)
    return PretrainConfig.from_params(params)


def test_committed_recipe_builds_a_config_that_holds_a_keyway_out() -> None:
    config = PretrainConfig.from_params(load_params(REPO / "data" / "base" / "params.yaml"))
    assert config.held_out_keyways and not set(config.held_out_keyways) & set(config.pretrain_keyways)
    assert config.classes[-1] == "NONE"


@pytest.mark.parametrize(("overrides", "key"), [
    ({"held_out_keyways": ["ZZ9"]}, "pretrain.held_out_keyways"),
    ({"image_size": 100}, "pretrain.image_size"),
    ({"keyway_mix": {"SC1": 1}, "held_out_keyways": ["SC1"]}, "pretrain.held_out_keyways"),
])
def test_bad_recipes_are_refused_by_key(overrides, key) -> None:
    with pytest.raises(ConfigError, match=key):
        toy_config(**overrides)


def test_toy_pretraining_saves_a_base_that_reloads_and_resumes(tmp_path) -> None:
    torch.set_num_threads(1)
    out, tower = tmp_path / "model", tmp_path / "tower.safetensors"
    metrics = pretrain_base(toy_config(), out, tmp_path / "metrics.json", tmp_path / "curves", tower)
    assert {"tower", "pretrained_keyways", "held_out_KW10", "no_key_recognised"} <= set(metrics)
    assert json.loads((tmp_path / "metrics.json").read_text())["train_photos"] == 24
    assert {p.name for p in (tmp_path / "curves").iterdir()} == {"tower.json", "decoder.json", "curves.png"}
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(out, local_files_only=True)
    assert model.config.vision_config.architecture == "resnet18" and model.dtype == torch.bfloat16
    card = (out / "README.md").read_text()
    for weights in out.glob("*.safetensors"):
        assert hashlib.sha256(weights.read_bytes()).hexdigest() in card
    assert tower.is_file()
    again = pretrain_base(toy_config(), tmp_path / "again", tmp_path / "m2.json", tmp_path / "c2", tower)
    assert yaml.safe_load((tmp_path / "c2" / "tower.json").read_text())[0]["step"] == 0  # phase 1 was loaded
    assert again["train_photos"] == 24
