"""What the LoRA adapts: PEFT target modules per `train.lora_scope`, and the LoraConfig of the hf backend."""

from __future__ import annotations

import re
from typing import Any

from keylike.errors import ConfigError
from keylike.model.training.config import LORA_SCOPES, TrainConfig

_LANGUAGE_TARGETS = r"model\.language_model\.layers\.\d+\.(?:self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)"


_PROJECTION_TARGETS = r"model\.embed_vision\.embedding_projection"


_ENCODER_PREFIX = "model.vision_tower."


def lora_target_regex(model: Any, scope: str, encoder_layers: str | None = None) -> str:
    """PEFT `target_modules` regex for `scope` (a regex, not a set, so adapter_config.json is stable)."""
    if scope not in LORA_SCOPES:
        raise ConfigError(f"train.lora_scope must be one of {', '.join(LORA_SCOPES)}, got {scope!r}")
    parts = [_LANGUAGE_TARGETS]
    if scope in ("projection", "encoder"):
        parts.append(_PROJECTION_TARGETS)
    if scope == "encoder":
        parts.extend(re.escape(name) for name in encoder_conv_names(model, encoder_layers))
    return "|".join(f"(?:{part})" for part in parts)


def encoder_conv_names(model: Any, encoder_layers: str | None = None) -> list[str]:
    """The vision encoder's plain Conv2d layers PEFT can adapt and merge (not grouped, not timm's Conv2dSame),
    those whose name matches the regex `encoder_layers` when one is given."""
    import torch

    names = [
        name
        for name, module in model.named_modules()
        if name.startswith(_ENCODER_PREFIX) and type(module) is torch.nn.Conv2d and module.groups == 1
        and (encoder_layers is None or re.search(encoder_layers, name[len(_ENCODER_PREFIX):]))
    ]
    if not names:
        raise ConfigError(
            "train.lora_scope=encoder: no Conv2d layer of the base model's vision encoder to adapt"
            + (f" matches train.encoder_layers {encoder_layers!r}" if encoder_layers else "")
        )
    return names


def count_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def lora_config(config: TrainConfig, model: Any) -> Any:
    """The PEFT LoraConfig for `config` on `model` (hf backend)."""
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=lora_target_regex(model, config.lora_scope, config.encoder_layers),
        modules_to_save=list(config.modules_to_save) or None,
        ensure_weight_tying=bool(config.modules_to_save),
        bias="none",
    )
