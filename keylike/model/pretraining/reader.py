"""Phase 1: the vision tower learns to read keys, as a plain classifier.

A vision-language model trained end to end from random weights learns the answer format and
ignores the image (`shared/reference/probes`). So the tower first learns alone: one keyway head
(pretraining keyways plus NONE) and one depth head per cut position on its pooled features, the
recipe of the ResNet-18 probe that read 0.96 of the cuts at 192 px in 3 minutes.
"""

from __future__ import annotations

from typing import Any

from keylike.model.pretraining.loop import train_steps
from keylike.model.pretraining.photos import PhotoSet

DEPTH_CODES = 10
"""Depth classes per cut position (codes 0-9 cover every keyway)."""
IGNORE = -100


def cut_targets(photos: PhotoSet, max_cuts: int) -> Any:
    """(N, max_cuts) depth codes, IGNORE past a key's last cut and for photos with no key."""
    import torch

    rows = [list(label.bitting) + [IGNORE] * (max_cuts - len(label.bitting)) for label in photos.labels]
    return torch.tensor(rows, dtype=torch.long)


def to_model_input(pixels: Any) -> Any:
    """uint8 photos to the tower's input: what the processor gives (rescaled to [0, 1], no normalisation)."""
    import torch

    return (pixels.float() / 255.0).contiguous(memory_format=torch.channels_last)


def build_reader(architecture: str, classes: int, max_cuts: int) -> Any:
    """A timm tower (random weights) with a keyway head and a depth head per cut position."""
    import timm
    import torch.nn as nn

    class Reader(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = timm.create_model(architecture, pretrained=False, num_classes=0)
            width = self.body.num_features
            self.keyway = nn.Linear(width, classes)
            self.cuts = nn.Linear(width, max_cuts * DEPTH_CODES)

        def forward(self, x: Any) -> tuple[Any, Any]:
            features = self.body.forward_features(x).float().mean(dim=(2, 3))
            return self.keyway(features), self.cuts(features).view(-1, max_cuts, DEPTH_CODES)

    return Reader()


def train_reader(
    reader: Any, train: PhotoSet, classes: list[str], *, steps: int, batch_size: int, learning_rate: float,
    weight_decay: float, warmup_ratio: float, seed: int, device: Any, log: Any,
) -> list[dict[str, float]]:
    """Train `reader` on `train` for `steps` (bf16 autocast on CUDA); returns the loss curve."""
    import torch
    import torch.nn as nn

    max_cuts = reader.cuts.out_features // DEPTH_CODES
    pixels = train.pixels.to(device)
    keyways = torch.tensor([classes.index(label.keyway) for label in train.labels], device=device)
    cuts = cut_targets(train, max_cuts).to(device)
    reader.to(device).to(memory_format=torch.channels_last).train()
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE)

    def batch_loss(index: Any) -> Any:
        keyway_logits, cut_logits = reader(to_model_input(pixels[index]))
        return loss_fn(keyway_logits, keyways[index]) + loss_fn(cut_logits.reshape(-1, DEPTH_CODES), cuts[index].reshape(-1))

    curve = train_steps(reader.parameters(), batch_loss, rows=len(pixels), steps=steps, batch_size=batch_size,
                        learning_rate=learning_rate, weight_decay=weight_decay, warmup_ratio=warmup_ratio, seed=seed,
                        device=device, log=log, name="tower")
    reader.eval()
    return curve


def score_reader(
    reader: Any, photos: PhotoSet, classes: list[str], device: Any, scored: list[str] | None = None, batch_size: int = 256,
) -> dict[str, float]:
    """Keyway, per-cut, within-one-step and whole-key accuracy of the classifier on the photos of `photos`
    whose keyway is in `scored` (default: every class, NONE included, whose whole key is the keyway alone)."""
    import torch

    max_cuts = reader.cuts.out_features // DEPTH_CODES
    known = [i for i, label in enumerate(photos.labels) if label.keyway in (scored or classes)]
    keyways = torch.tensor([classes.index(photos.labels[i].keyway) for i in known])
    cuts = cut_targets(photos, max_cuts)[known]
    keyway_ok, cut_ok, within_ok, whole_ok = [], [], [], []
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        for start in range(0, len(known), batch_size):
            keyway_logits, cut_logits = reader(to_model_input(photos.pixels[known[start : start + batch_size]].to(device)))
            target, mask = cuts[start : start + batch_size], cuts[start : start + batch_size] != IGNORE
            predicted = cut_logits.argmax(2).cpu()
            keyway_right = keyway_logits.argmax(1).cpu() == keyways[start : start + batch_size]
            keyway_ok.append(keyway_right)
            cut_ok.append((predicted == target)[mask])
            within_ok.append(((predicted - target).abs() <= 1)[mask])
            whole_ok.append(keyway_right & ((predicted == target) | ~mask).all(1))
    def share(parts: list[Any]) -> float:
        joined = torch.cat(parts)
        return round(joined.float().mean().item(), 4) if len(joined) else float("nan")

    return {"keyway_accuracy": share(keyway_ok), "per_cut_accuracy": share(cut_ok),
            "within_one_step": share(within_ok), "whole_key": share(whole_ok)}
