"""The production profile is DVC's Hydra composition of params.yaml with keylike/profiles/profile/."""

from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from tests.test_params import STAGE_CONFIGS

REPO = Path(__file__).resolve().parents[1]
PROFILES = REPO / "keylike" / "profiles"


def _compose(overrides: list[str]) -> dict:
    with initialize_config_dir(config_dir=str(PROFILES), version_base=None):
        return OmegaConf.to_container(compose(config_name="params", overrides=overrides))


def test_default_composition_is_the_committed_params() -> None:
    assert _compose([]) == yaml.safe_load((REPO / "params.yaml").read_text())


def test_production_profile_sets_the_original_recipe() -> None:
    params = _compose(["+profile=production"])
    train = params["train"]
    assert (train["backend"], train["base_model"], train["load_in_4bit"]) == ("unsloth", "unsloth/gemma-3n-E4B-it", True)
    assert (train["lora_r"], train["lora_alpha"], train["lora_dropout"]) == (32, 32, 0.05)
    assert (train["batch_size"], train["grad_accum"], train["epochs"]) == (1, 8, 2)
    assert (train["optim"], train["precision"], train["image_size"]) == ("adamw_8bit", "bf16", 768)
    assert params["base"]["seed"] == 3407


@pytest.mark.parametrize(("module", "name"), STAGE_CONFIGS)
def test_production_profile_loads_into_every_config(module: str, name: str) -> None:
    import importlib

    params = _compose(["+profile=production"])
    getattr(importlib.import_module(module), name).from_params(params)
