"""The model: the embedded tiny Gemma 3n, loading base models, LoRA training and merging.

Heavy libraries (torch, transformers, peft, trl) are imported inside the functions that need them.
"""

from keylike.model.loading import TINY, load_base_model, load_processor, resolve_base_model, tiny_model_dir
from keylike.model.tiny import TinyConfig, build_tiny_model, save_tiny_model

__all__ = [
    "TINY",
    "TinyConfig",
    "build_tiny_model",
    "load_base_model",
    "load_processor",
    "resolve_base_model",
    "save_tiny_model",
    "tiny_model_dir",
]
