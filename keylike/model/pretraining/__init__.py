"""The pretrained base: a small Gemma 3n that keylike builds and trains on its own synthetic photos (GPU)."""

from keylike.model.pretraining.config import PretrainConfig
from keylike.model.pretraining.run import pretrain_base

__all__ = ["PretrainConfig", "pretrain_base"]
