"""Phase 2: the projection and the language model learn to say what the frozen, trained tower sees.

The Gemma 3n is built by keylike's builder (`keylike.model.tiny`) with the phase-1 tower's weights;
the tower stays frozen and in eval mode (its batch-norm statistics are kept). Rows are the exact
prompt the pipeline trains and serves with (`keylike.model.inference.build_prompt`) followed by the
answer and `<end_of_turn>`; the loss covers the answer only, as TRL's collator does in fine-tuning.
"""

from __future__ import annotations

from typing import Any

from keylike.keys import format_answer
from keylike.model.inference import build_prompt
from keylike.model.pretraining.loop import train_steps
from keylike.model.pretraining.photos import PhotoSet
from keylike.model.pretraining.reader import IGNORE, to_model_input

END_OF_TURN = "<end_of_turn>\n"


def prompt_ids(processor: Any, image_size: int) -> list[int]:
    """Token ids of the prompt with its image tokens, as the processor builds them."""
    from PIL import Image

    blank = Image.new("RGB", (image_size, image_size))
    return processor(text=[build_prompt(processor)], images=[[blank]], return_tensors="pt")["input_ids"][0].tolist()


def answer_ids(processor: Any, photos: PhotoSet) -> list[list[int]]:
    """Token ids of each photo's answer followed by `<end_of_turn>\\n` (what the model learns to write)."""
    texts = [format_answer(label) + END_OF_TURN for label in photos.labels]
    return processor.tokenizer(texts, add_special_tokens=False)["input_ids"]


def pack_rows(prompt: list[int], answers: list[list[int]], pad_id: int) -> tuple[Any, Any, Any]:
    """(input_ids, attention_mask, labels) of prompt + answer rows, right-padded; labels on the answer only."""
    import torch

    width = len(prompt) + max(len(a) for a in answers)
    ids = torch.full((len(answers), width), pad_id, dtype=torch.long)
    labels = torch.full((len(answers), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(answers), width), dtype=torch.long)
    for row, answer in enumerate(answers):
        end = len(prompt) + len(answer)
        ids[row, :end] = torch.tensor(prompt + answer)
        labels[row, len(prompt) : end] = torch.tensor(answer)
        mask[row, :end] = 1
    return ids, mask, labels


def load_tower(model: Any, tower_state: dict[str, Any]) -> None:
    """Put the phase-1 tower weights into the Gemma 3n and freeze them."""
    tower = model.model.vision_tower
    tower.timm_model.load_state_dict(tower_state)
    for parameter in tower.parameters():
        parameter.requires_grad_(False)


def train_decoder(
    model: Any, processor: Any, train: PhotoSet, *, image_size: int, steps: int, batch_size: int,
    learning_rate: float, weight_decay: float, warmup_ratio: float, seed: int, device: Any, log: Any,
) -> list[dict[str, float]]:
    """Train everything but the tower on the answers of `train`; returns the loss curve."""
    ids, mask, labels = pack_rows(prompt_ids(processor, image_size), answer_ids(processor, train),
                                  processor.tokenizer.pad_token_id)
    ids, mask, labels, pixels = ids.to(device), mask.to(device), labels.to(device), train.pixels.to(device)
    model.to(device).train()
    model.model.vision_tower.eval()

    def batch_loss(index: Any) -> Any:
        return model(input_ids=ids[index], attention_mask=mask[index], labels=labels[index],
                     pixel_values=to_model_input(pixels[index])).loss

    curve = train_steps([p for p in model.parameters() if p.requires_grad], batch_loss, rows=len(ids), steps=steps,
                        batch_size=batch_size, learning_rate=learning_rate, weight_decay=weight_decay,
                        warmup_ratio=warmup_ratio, seed=seed, device=device, log=log, name="decoder", max_grad_norm=1.0)
    model.eval()
    return curve
