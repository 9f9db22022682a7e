"""The recipe of the pretrained base model: the `pretrain` block of `data/base/params.yaml`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keylike.config import check, config_from_block
from keylike.keys import NO_KEY, keyway_codes
from keylike.model.tiny import TinyConfig


@dataclass(frozen=True)
class PretrainConfig:
    """How the base model is made: its sizes, its photos, and the two training phases."""

    seed: int
    """Seed of the photos (training photos use `seed`, evaluation photos `seed + 1`) and the weights."""
    keyway_mix: dict[str, float]
    """Keyways drawn, with weights (the default pipeline's mix)."""
    held_out_keyways: tuple[str, ...]
    """Keyways of the mix never shown in pretraining: the default pipeline must teach them."""
    no_key_share: float
    """Share of photos with no key in them (answered `NO KEY`)."""
    train_photos: int
    """Photos rendered for training (from the base side of the keyspace only)."""
    eval_photos: int
    """Photos rendered for the held-out evaluation (another seed; held-out keyways included)."""
    # the model
    image_size: int
    """Image side in pixels (the pipeline's ingested photos are this size)."""
    vision_architecture: str
    """timm architecture of the vision tower."""
    vision_hidden_size: int
    """Channels of the tower's final feature map."""
    hidden_size: int
    """Width of the language model."""
    intermediate_size: int
    """Width of each MLP of the language model."""
    num_layers: int
    """Decoder layers."""
    num_heads: int
    """Attention heads."""
    head_dim: int
    """Width of each attention head."""
    per_layer_size: int
    """Width of Gemma 3n's per-layer input embeddings."""
    # phase 1: the vision tower learns to read, as a classifier
    tower_steps: int
    """Optimiser steps of phase 1 (keyway head + one depth head per cut position on the tower)."""
    tower_batch_size: int
    tower_learning_rate: float
    # phase 2: projection and language model learn to say what the frozen tower sees
    decoder_steps: int
    """Optimiser steps of phase 2 (the answer text, teacher-forced, loss on the answer only)."""
    decoder_batch_size: int
    decoder_learning_rate: float
    weight_decay: float = 0.05
    warmup_ratio: float = 0.03
    render: dict[str, Any] = field(default_factory=dict)
    """Overrides of `RenderSettings` (empty: the defaults, which are ingest's)."""

    def __post_init__(self) -> None:
        known = keyway_codes()
        unknown = sorted(set(self.keyway_mix) - set(known))
        check(not unknown, "pretrain.keyway_mix", f"has unknown keyways {unknown}; known: {known}")
        missing = sorted(set(self.held_out_keyways) - set(self.keyway_mix))
        check(not missing, "pretrain.held_out_keyways", f"{missing} are not in pretrain.keyway_mix")
        check(len(self.pretrain_keyways) > 0, "pretrain.held_out_keyways", "leaves no keyway to pretrain on")
        check(0 <= self.no_key_share < 1, "pretrain.no_key_share", f"must be in [0, 1), got {self.no_key_share}")
        for key in ("train_photos", "eval_photos", "tower_steps", "tower_batch_size", "decoder_steps", "decoder_batch_size"):
            check(getattr(self, key) > 0, f"pretrain.{key}", f"must be > 0, got {getattr(self, key)}")
        check(self.image_size % 32 == 0, "pretrain.image_size", f"must be a multiple of 32, got {self.image_size}")

    @property
    def pretrain_keyways(self) -> list[str]:
        """The keyways pretraining shows, in mix order."""
        return [code for code in self.keyway_mix if code not in self.held_out_keyways]

    @property
    def classes(self) -> list[str]:
        """Phase 1's keyway classes: the pretraining keyways, then NONE (no key)."""
        return [*self.pretrain_keyways, NO_KEY]

    def model_config(self) -> TinyConfig:
        """The builder's config of the base model."""
        side = self.image_size // 32
        return TinyConfig(
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            head_dim=self.head_dim,
            per_layer_size=self.per_layer_size,
            vision_architecture=self.vision_architecture,
            vision_hidden_size=self.vision_hidden_size,
            image_tokens=side * side,
            image_size=self.image_size,
            center_image_projection=False,
            seed=self.seed,
        )

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> PretrainConfig:
        """Build from the base pipeline's params: the `pretrain` block."""
        return config_from_block(cls, params, "pretrain")
