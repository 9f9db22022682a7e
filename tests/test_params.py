"""The committed params.yaml loads into every stage's config class, and unknown keys are refused."""

import importlib

import pytest

from keylike.config import config_from_block, load_params
from keylike.errors import ConfigError

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
    params = load_params("params.yaml")
    config_cls = getattr(importlib.import_module(module), name)
    config = config_cls.from_params(params)
    assert config is not None


@pytest.mark.parametrize(("module", "name"), STAGE_CONFIGS)
def test_unknown_key_is_refused(module: str, name: str) -> None:
    params = load_params("params.yaml")
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
