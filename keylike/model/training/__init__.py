"""LoRA fine-tuning of Gemma 3n with TRL's SFTTrainer, through one of two backends.

- `hf`: transformers `AutoModelForImageTextToText` + PEFT `LoraConfig` + TRL's vision collator on
  prompt/completion rows (loss on the completion only). Runs on a CPU and on a GPU.
- `unsloth`: `FastVisionModel` + `UnslothVisionDataCollator` on `messages` rows with
  `train_on_responses_only` on Gemma's turn markers. GPU only (unsloth is the `gpu` extra).

Both share TrainConfig, the prompt, the target, what LoRA adapts (`lora_scope`), checkpoints with
resume, and the metrics and plots written at the end. `train.processes` above 1 runs the hf backend
as that many DDP processes under accelerate launch (launch.py).
"""

from keylike.model.training.backends import load_backend, unsloth_collator_kwargs
from keylike.model.training.config import BACKENDS, LORA_SCOPES, TrainConfig
from keylike.model.training.targets import count_parameters, encoder_conv_names, lora_config, lora_target_regex
from keylike.model.training.trainer import TrainResult, train_adapter

__all__ = [
    "BACKENDS",
    "LORA_SCOPES",
    "TrainConfig",
    "TrainResult",
    "count_parameters",
    "encoder_conv_names",
    "lora_config",
    "load_backend",
    "lora_target_regex",
    "train_adapter",
    "unsloth_collator_kwargs",
]
