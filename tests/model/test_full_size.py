"""keylike.model.full_size: the full-size processor's id layout (the 7.8 B model itself is built on the GPU)."""

from __future__ import annotations

import pytest
from PIL import Image

from keylike.keys import KeyLabel, format_answer
from keylike.model.dataset import completion_messages, prompt_messages
from keylike.model.full_size import IMAGE_TOKENS, SPECIAL_IDS, VOCAB_SIZE, build_processor


@pytest.fixture(scope="module")
def processor():
    return build_processor(image_size=96)


def test_tokenizer_has_gemma_3n_id_layout(processor):
    tokenizer = processor.tokenizer
    assert len(tokenizer) == VOCAB_SIZE
    assert {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_IDS} == SPECIAL_IDS
    assert (tokenizer.image_token_id, tokenizer.audio_token_id) == (262_145, 262_273)
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id) == (0, 1, 2)


def test_a_sample_has_256_image_tokens_and_the_answer_round_trips(processor):
    label = KeyLabel("SC1", (1, 2, 5, 3, 7), "Schlage")
    text = processor.apply_chat_template(prompt_messages() + completion_messages(label), tokenize=False)
    batch = processor(text=[text], images=[[Image.new("RGB", (120, 80), (90, 90, 90))]], return_tensors="pt")
    ids = batch["input_ids"][0].tolist()
    assert ids.count(SPECIAL_IDS["<image_soft_token>"]) == IMAGE_TOKENS
    assert tuple(batch["pixel_values"].shape) == (1, 3, 96, 96)
    answer = processor.tokenizer(format_answer(label), add_special_tokens=False)["input_ids"]
    assert processor.tokenizer.decode(answer) == format_answer(label)
    assert max(answer) < SPECIAL_IDS["<start_of_image>"]
