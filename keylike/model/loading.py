"""Load a base model and its processor: `tiny` (built here), a local directory, or a hub id.

Every source ends in the same call, `AutoModelForImageTextToText.from_pretrained` and
`AutoProcessor.from_pretrained` on a directory or id, so the tiny model exercises the real path.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from keylike.errors import ConfigError
from keylike.model.tiny import TinyConfig, save_tiny_model

TINY = "tiny"
"""`train.base_model` value for the embedded tiny Gemma 3n."""

DTYPES = {"fp32": "float32", "float32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16"}
"""Accepted precision / dtype names and the torch dtype each means."""

_UNUSED_4BIT_KERNEL = "Failed to load CPU gemm_4bit_forward"


class _Unused4BitKernelFilter(logging.Filter):
    """Drops bitsandbytes' warning, logged when PEFT or transformers import it, that its optional CPU 4-bit kernel
    (fetched from the hub by the `kernels` package) is missing: keylike runs 4-bit (`train.load_in_4bit`) only
    through CUDA, so that kernel is never called, and nothing may be downloaded at run time."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_UNUSED_4BIT_KERNEL)


logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(_Unused4BitKernelFilter())


def cache_dir() -> Path:
    """Where keylike keeps built models: `$KEYLIKE_CACHE`, else `~/.cache/keylike`."""
    return Path(os.environ.get("KEYLIKE_CACHE") or Path.home() / ".cache" / "keylike")


def tiny_model_dir(config: TinyConfig = TinyConfig()) -> Path:
    """The saved tiny model, built on first use into a cache folder named after its fingerprint."""
    path = cache_dir() / "models" / f"tiny-{config.fingerprint()}"
    if not (path / "config.json").is_file():
        save_tiny_model(path, config)
    return path


def resolve_base_model(name: str) -> str:
    """The directory or hub id to load for `name` (`tiny`, a local folder, or a hub id)."""
    if name == TINY:
        return str(tiny_model_dir())
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(f"base model folder {path} has no config.json; point train.base_model at a saved model")
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ConfigError(f"base model folder {path} does not exist; set train.base_model to `tiny`, a folder or a hub id")
    return name


def torch_dtype(name: str) -> Any:
    """The torch dtype for a precision name (`fp32`, `bf16`, `fp16` or the torch names)."""
    import torch

    if name not in DTYPES:
        raise ConfigError(f"unknown precision {name!r}; use one of {', '.join(DTYPES)}")
    return getattr(torch, DTYPES[name])


def set_image_size(processor: Any, image_size: int) -> None:
    """Make the processor resize every image to image_size x image_size."""
    from transformers.image_utils import SizeDict

    processor.image_processor.size = SizeDict(height=image_size, width=image_size)


def load_processor(name: str, image_size: int) -> Any:
    """The processor of base model `name`, resizing images to `image_size`."""
    from transformers import AutoProcessor

    processor = _from_pretrained(AutoProcessor, name)
    set_image_size(processor, image_size)
    return processor


def load_base_model(name: str, *, image_size: int, dtype: str = "fp32", load_in_4bit: bool = False) -> tuple[Any, Any]:
    """Load (model, processor) of base model `name`; 4-bit uses bitsandbytes NF4."""
    from transformers import AutoModelForImageTextToText, BitsAndBytesConfig

    kwargs: dict[str, Any] = {"dtype": torch_dtype(dtype)}
    if load_in_4bit:
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch_dtype(dtype),
        )
    model = _from_pretrained(AutoModelForImageTextToText, name, **kwargs)
    return model, load_processor(name, image_size)


def load_from_folder(auto_cls: Any, folder: Path | str, **kwargs: Any) -> Any:
    """`auto_cls.from_pretrained(folder)` with `local_files_only=True` stated, not taken from HF_HUB_OFFLINE:
    a processor saves the flag into tokenizer_config.json, and a saved model's DVC hash must not depend on
    the environment `dvc repro` ran in."""
    return auto_cls.from_pretrained(folder, local_files_only=True, **kwargs)


def _from_pretrained(auto_cls: Any, name: str, **kwargs: Any) -> Any:
    """`auto_cls.from_pretrained(resolve_base_model(name))`, failing with a ConfigError that says what to do."""
    source = resolve_base_model(name)
    try:
        if Path(source).is_dir():
            return load_from_folder(auto_cls, source, **kwargs)
        return auto_cls.from_pretrained(source, **kwargs)
    except OSError as exc:
        raise ConfigError(
            f"cannot load base model {name!r} ({exc.__class__.__name__}: {str(exc).splitlines()[0]}); "
            "no hub downloads here: save the model to a folder and set train.base_model to it, or use `tiny`"
        ) from exc
