"""The model: the Gemma 3n builder (the tiny test model and the base's shape), the base's pretraining recipe,
loading base models, LoRA training, merging, grammar-constrained inference.

Heavy libraries (torch, transformers, peft, trl, unsloth) are imported inside the functions that need them.
"""

from keylike.model.loading import TINY, load_base_model, load_processor, resolve_base_model, tiny_model_dir
from keylike.model.merging import MergeConfig, merge_adapter
from keylike.model.tiny import TinyConfig, build_tiny_model, save_tiny_model
from keylike.model.training import TrainConfig, TrainResult, train_adapter

__all__ = [
    "TINY",
    "MergeConfig",
    "TinyConfig",
    "TrainConfig",
    "TrainResult",
    "build_tiny_model",
    "load_base_model",
    "load_processor",
    "merge_adapter",
    "resolve_base_model",
    "save_tiny_model",
    "tiny_model_dir",
    "train_adapter",
]
