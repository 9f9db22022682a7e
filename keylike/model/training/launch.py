"""Several training processes through `accelerate launch`: the train command starts `train.processes` copies
of itself (DDP: one process per GPU, or gloo on a CPU), and each copy checks it is one of that many.

Why a number in params and not an accelerate config file: `dvc exp run -S train.processes=2` varies it like
any other key, TrainConfig checks at load that the global batch divides among the processes, and the run
fingerprint (checkpoints) covers it. A run started by hand under `accelerate launch --config_file ...` (FSDP,
several machines) trains in place when its world size equals `train.processes`.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import signal
import subprocess
import sys
from collections.abc import Mapping

from keylike.errors import ConfigError, KeylikeError
from keylike.model.training.config import TrainConfig


def launched_processes(environ: Mapping[str, str] = os.environ) -> int:
    """How many processes this run belongs to (`WORLD_SIZE`, set by accelerate launch and torchrun); 1 alone."""
    return int(environ.get("WORLD_SIZE", "1"))


def needs_launch(config: TrainConfig, environ: Mapping[str, str] = os.environ) -> bool:
    """True when params ask for several processes and this is the lone process that must start them."""
    return config.processes > 1 and launched_processes(environ) == 1


def check_launched(config: TrainConfig, environ: Mapping[str, str] = os.environ) -> None:
    """Refuse a run whose number of processes is not `train.processes` (the global batch would change)."""
    world = launched_processes(environ)
    if world != config.processes:
        raise ConfigError(
            f"train.processes is {config.processes} but this run has {world} processes (WORLD_SIZE); set "
            f"train.processes: {world}, or run the train command without accelerate launch (it starts them itself)"
        )


def join_launched_run(config: TrainConfig) -> None:
    """In each process of the run: check there are config.processes of them; when several, die with the
    launcher, and on a CPU let a resumed checkpoint load onto this process's device."""
    check_launched(config)
    if config.processes > 1:
        die_with_parent()
        _restore_cpu_storage_by_index()


@functools.cache
def _restore_cpu_storage_by_index() -> None:
    """Let torch.load place tensors on `cpu:N`. accelerate gives CPU process N the device `cpu:N`, and
    transformers loads a resumed optimizer state with map_location=that device, which torch refuses
    ("don't know how to restore data location ... cpu:0"); on GPUs the device is `cuda:N`, which it knows."""
    import torch

    torch.serialization.register_package(
        11, lambda storage: None, lambda storage, location: storage if re.fullmatch(r"cpu:\d+", location) else None
    )


_PR_SET_PDEATHSIG = 1
"""prctl option: the signal this process gets when its parent dies (linux/prctl.h)."""


def die_with_parent() -> None:
    """Have Linux kill this process when its parent dies. torchrun starts each process in a session of its
    own, so without this a killed launcher leaves them training on, racing the run that resumes."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def launch_command(config: TrainConfig, module_args: list[str], gpus: int) -> tuple[list[str], dict[str, str]]:
    """The `accelerate launch` command line running `python -m <module_args>` in config.processes processes,
    and the environment it adds: DDP over the GPUs, or over gloo on the CPU (`ACCELERATE_USE_CPU`) without one.

    Every launcher option is given, so a user's default accelerate config cannot change the run; port 0 picks
    a free port, so two runs on one machine do not collide."""
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(config.processes),
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0",
        "-m", *module_args,
    ]  # fmt: skip
    return command, {} if gpus else {"ACCELERATE_USE_CPU": "true"}


def launch_training(config: TrainConfig, module_args: list[str]) -> None:
    """Run `python -m <module_args>` in config.processes processes under accelerate launch; wait for them."""
    import torch

    gpus = torch.cuda.device_count()
    if 0 < gpus < config.processes:
        raise ConfigError(f"train.processes is {config.processes} but this machine has {gpus} GPU(s); set train.processes <= {gpus}")
    command, env = launch_command(config, module_args, gpus)
    returncode = subprocess.run(command, env={**os.environ, **env}, preexec_fn=die_with_parent).returncode
    if returncode:
        raise KeylikeError(f"train: {config.processes} processes under accelerate launch failed (exit {returncode}); their output is above")
