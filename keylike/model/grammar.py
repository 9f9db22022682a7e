"""Grammar-constrained decoding: the model chooses among answers that can exist.

At each step of greedy decoding, tokens that would turn the answer into something `parse_answer`
refuses (an unknown keyway, another brand, a depth out of the keyway's range, adjacent cuts over the
MACS, a wrong number of cuts) get a score of -inf, and the stop tokens are allowed only after a
complete answer (keylike.keys.answer.is_answer_prefix). The model's own probabilities are untouched:
confidence is computed from the raw logits, so a reading the grammar had to steer comes out unsure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from keylike.keys import KeyLabel, brands, format_answer, get_spec, keyway_codes
from keylike.keys.answer import NO_KEY_ANSWER, is_answer_prefix, is_complete_answer


def _alphabet() -> set[str]:
    samples = [NO_KEY_ANSWER, "0123456789,\n"]
    samples += [format_answer(KeyLabel(code, (get_spec(code).min_depth,), get_spec(code).brand)) for code in keyway_codes()]
    return set("".join(samples)) | set("".join(brands()))


class AnswerGrammar:
    """A transformers logits processor that keeps greedy decoding inside the answer grammar."""

    def __init__(self, tokenizer: Any, prompt_length: int, stop_ids: Iterable[int]) -> None:
        alphabet = _alphabet()
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length
        self.stop_ids = sorted(stop_ids)
        special = set(tokenizer.all_special_ids)
        pieces = ((i, tokenizer.decode([i])) for i in range(len(tokenizer)) if i not in special)
        self.pieces = [(i, text) for i, text in pieces if text and set(text) <= alphabet]

    @staticmethod
    def supports(tokenizer: Any) -> bool:
        """True when the tokenizer's pieces concatenate to its decoded text (the grammar builds text that way)."""
        for code in keyway_codes()[:3]:
            text = format_answer(KeyLabel(code, tuple(get_spec(code).depth_codes[: get_spec(code).cuts]), get_spec(code).brand))
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            if "".join(tokenizer.decode([i]) for i in ids) != text:
                return False
        return True

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        """Scores with tokens outside the grammar at -inf, row by row (finished rows untouched); a new tensor,
        since generate keeps the raw logits it passed in (the confidence is computed from them)."""
        import torch

        mask = torch.zeros_like(scores)
        for row in range(input_ids.shape[0]):
            generated = input_ids[row, self.prompt_length :].tolist()
            if any(token in self.stop_ids for token in generated):
                continue
            text = self.tokenizer.decode(generated, skip_special_tokens=True)
            allowed = [i for i, piece in self.pieces if is_answer_prefix(text + piece)]
            if is_complete_answer(text):
                allowed += self.stop_ids
            if allowed:
                mask[row] = float("-inf")
                mask[row, allowed] = 0
        return scores + mask
