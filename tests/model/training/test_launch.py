"""Several training processes: when the train command starts them, how, and what it refuses."""

from dataclasses import replace
from pathlib import Path

import pytest

from keylike.config import load_params
from keylike.errors import ConfigError, KeylikeError
from keylike.model.training import TrainConfig
from keylike.model.training.launch import check_launched, launch_command, launch_training, needs_launch

REPO = Path(__file__).resolve().parents[3]


def make_config(**overrides) -> TrainConfig:
    return replace(TrainConfig.from_params(load_params(REPO / "params.yaml")), **overrides)


def test_only_the_lone_process_of_a_several_process_run_launches():
    assert needs_launch(make_config(processes=2), {})
    assert not needs_launch(make_config(processes=2), {"WORLD_SIZE": "2"})
    assert not needs_launch(make_config(), {})


def test_a_run_of_another_size_than_train_processes_is_refused():
    check_launched(make_config(processes=2), {"WORLD_SIZE": "2"})
    with pytest.raises(ConfigError, match=r"train.processes is 2 but this run has 4 processes \(WORLD_SIZE\); set train.processes: 4"):
        check_launched(make_config(processes=2), {"WORLD_SIZE": "4"})


def test_cpu_runs_use_gloo_and_gpu_runs_ddp_over_the_gpus():
    command, cpu_env = launch_command(make_config(processes=2), ["keylike.cli", "train"], gpus=0)
    assert command[command.index("--num_processes") + 1] == "2" and command[-3:] == ["-m", "keylike.cli", "train"]
    assert command[command.index("--main_process_port") + 1] == "0"
    assert cpu_env == {"ACCELERATE_USE_CPU": "true"}
    assert launch_command(make_config(processes=2), ["keylike.cli", "train"], gpus=2)[1] == {}


def test_more_processes_than_gpus_is_refused(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigError, match="train.processes is 2 but this machine has 1 GPU"):
        launch_training(make_config(processes=2), ["keylike.cli", "train"])


def test_failed_processes_end_in_one_error_line():
    with pytest.raises(KeylikeError, match=r"train: 2 processes under accelerate launch failed \(exit 1\)"):
        launch_training(make_config(processes=2), ["keylike.no_such_module"])
