"""params.yaml loads into every stage's config class; the production profile is its Hydra composition."""

import importlib
import re
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from keylike.config import config_from_block, load_params
from keylike.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

STAGE_CONFIGS = [
    ("keylike.data.ingest", "IngestConfig"),
    ("keylike.data.validation", "ValidateConfig"),
    ("keylike.data.split", "SplitConfig"),
    ("keylike.model.training", "TrainConfig"),
    ("keylike.model.merging", "MergeConfig"),
    ("keylike.model.export", "ExportConfig"),
    ("keylike.evaluation.benchmark", "BenchmarkConfig"),
]


@pytest.mark.parametrize(("module", "name"), STAGE_CONFIGS)
def test_committed_params_load_into_config(module: str, name: str) -> None:
    params = load_params(REPO / "params.yaml")
    config_cls = getattr(importlib.import_module(module), name)
    config = config_cls.from_params(params)
    block = next(b for b in params if b != "base" and config_cls.__name__.lower().startswith(b))
    scalars = {key: value for key, value in params[block].items() if not isinstance(value, (dict, list))}
    assert scalars and {key: getattr(config, key) for key in scalars} == scalars


@pytest.mark.parametrize(("module", "name"), STAGE_CONFIGS)
def test_unknown_key_is_refused(module: str, name: str) -> None:
    params = load_params(REPO / "params.yaml")
    config_cls = getattr(importlib.import_module(module), name)
    block = next(b for b in params if b != "base" and config_cls.__name__.lower().startswith(b))
    params[block] = {**params[block], "no_such_key": 1}
    with pytest.raises(ConfigError, match=f"unknown key\\(s\\) in `{block}`: no_such_key"):
        config_cls.from_params(params)


def test_missing_params_file_names_the_path(tmp_path) -> None:
    with pytest.raises(ConfigError, match="missing.yaml not found"):
        load_params(tmp_path / "missing.yaml")


def test_wrong_type_names_the_key() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Probe:
        steps: int

    with pytest.raises(ConfigError, match="probe.steps must be int, got 'ten'"):
        config_from_block(Probe, {"probe": {"steps": "ten"}}, "probe")


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


def test_h200_profile_is_production_at_the_fastest_measured_training_settings() -> None:
    production, h200 = _compose(["+profile=production"]), _compose(["+profile=h200"])
    fast = {"backend": "hf", "load_in_4bit": False, "batch_size": 24, "grad_accum": 1, "gradient_checkpointing": False,
            "dataloader_workers": 6, "compile_layers": True}
    assert {key: h200["train"][key] for key in fast} == fast
    assert {**production, "train": {**production["train"], **fast}} == h200


@pytest.mark.parametrize("profile", ["production", "h200"])
@pytest.mark.parametrize(("module", "name"), STAGE_CONFIGS)
def test_profiles_load_into_every_config(profile: str, module: str, name: str) -> None:
    params = _compose([f"+profile={profile}"])
    getattr(importlib.import_module(module), name).from_params(params)


@pytest.mark.parametrize(("block", "key", "value", "message"), [
    ("validate", "image_modes", "RGB", "validate.image_modes must be a list, got 'RGB'"),
    ("train", "modules_to_save", "embed_tokens", "train.modules_to_save must be a list"),
    ("validate", "image_modes", ["RGB", 3], "validate.image_modes[1] must be str, got 3"),
    ("train", "lr_scheduler", "cosine_annealing", "train.lr_scheduler must be one of transformers' schedulers"),
    ("train", "optim", "adam", "train.optim must be one of transformers' optimisers"),
])
def test_a_wrong_shape_or_name_is_refused_at_load_naming_the_key(block, key, value, message) -> None:
    from keylike.data.validation import ValidateConfig
    from keylike.model.training import TrainConfig

    params = load_params(REPO / "params.yaml")
    params[block][key] = value
    config_class = {"validate": ValidateConfig, "train": TrainConfig}[block]
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_class.from_params(params)


def test_a_missing_base_block_is_a_config_error_not_a_key_error() -> None:
    from keylike.model.training import TrainConfig

    params = load_params(REPO / "params.yaml")
    del params["base"]
    with pytest.raises(ConfigError, match=re.escape("params has no `base.seed`")):
        TrainConfig.from_params(params)


def test_serving_normalises_photos_to_the_size_ingest_gave_the_training_photos() -> None:
    """`keylike predict`/`serve` scale a photo's longest side as ingest did (keylike.data.images), by default."""
    from keylike.commands.predict import DEFAULT_MAX_SIDE
    from keylike.serving.images import ImageLimits

    assert DEFAULT_MAX_SIDE == ImageLimits().max_side == load_params(REPO / "params.yaml")["ingest"]["max_image_side"]
