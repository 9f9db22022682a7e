"""The embedded tiny Gemma 3n: real classes, Gemma 3n's id layout, bit-identical builds."""

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from keylike.keys import INSTRUCTION, KeyLabel, format_answer
from keylike.model.tiny import MEDIA_VOCAB, TinyConfig, build_model_config, build_tiny_model, save_tiny_model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny():
    return build_tiny_model(TinyConfig())


def _digests(path):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir())}


def test_is_the_real_gemma3n_model_and_processor(tiny):
    model, processor = tiny
    assert type(model).__name__ == "Gemma3nForConditionalGeneration"
    assert type(processor).__name__ == "Gemma3nProcessor"
    assert type(processor.image_processor).__name__ == "SiglipImageProcessor"
    assert processor.image_processor.do_normalize is False


def test_special_ids_follow_gemma3n_layout(tiny):
    model, processor = tiny
    config, tokenizer, text = model.config, processor.tokenizer, TinyConfig().text_vocab_size
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id) == (0, 1, 2)
    assert len(tokenizer) == config.text_config.vocab_size == text + 2 * MEDIA_VOCAB
    assert tokenizer.convert_tokens_to_ids("<end_of_image>") == config.eoi_token_id == config.vision_config.vocab_offset == text
    assert tokenizer.image_token_id == config.image_token_id == text + 1
    assert tokenizer.convert_tokens_to_ids("<start_of_image>") == config.boi_token_id < text
    assert tokenizer.convert_tokens_to_ids("<end_of_audio>") == config.eoa_token_id == config.audio_config.vocab_offset
    assert tokenizer.convert_tokens_to_ids("<end_of_turn>") in config.text_config.eos_token_id


def test_answer_round_trips_through_the_tokenizer_with_single_digits(tiny):
    _, processor = tiny
    answer = format_answer(KeyLabel("SC4", (1, 2, 5, 3, 7, 0), "Schlage"))
    ids = processor.tokenizer(answer, add_special_tokens=False).input_ids
    assert processor.tokenizer.decode(ids) == answer
    assert processor.tokenizer.unk_token_id not in ids
    tokens = processor.tokenizer.convert_ids_to_tokens(ids)
    assert all(token in tokens for token in "125370")


def test_chat_template_is_gemmas(tiny):
    _, processor = tiny
    messages = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": INSTRUCTION}]},
        {"role": "assistant", "content": [{"type": "text", "text": "KEYWAY: SC1"}]},
    ]
    text = processor.apply_chat_template(messages, tokenize=False)
    assert text == (
        f"<bos><start_of_turn>user\n<image_soft_token>{INSTRUCTION}<end_of_turn>\n"
        "<start_of_turn>model\nKEYWAY: SC1<end_of_turn>\n"
    )


def test_image_becomes_the_configured_number_of_soft_tokens(tiny):
    model, processor = tiny
    image = Image.fromarray(np.full((50, 120, 3), 128, dtype=np.uint8))
    prompt = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "hi"}]}], tokenize=False, add_generation_prompt=True
    )
    batch = processor(images=[image], text=[prompt], return_tensors="pt")
    assert batch["pixel_values"].shape == (1, 3, 64, 64)
    assert (batch["input_ids"] == model.config.image_token_id).sum() == TinyConfig().image_tokens
    with torch.inference_mode():
        logits = model(**batch).logits
    assert logits.shape[-1] == model.config.text_config.vocab_size


def test_builds_are_bit_identical(tmp_path):
    first, second = save_tiny_model(tmp_path / "a"), save_tiny_model(tmp_path / "b")
    assert _digests(first) == _digests(second)
    assert {"model.safetensors", "config.json", "tokenizer.json", "processor_config.json"} <= set(_digests(first))


def test_sizes_change_the_model_and_fingerprint():
    small, wide = TinyConfig(), TinyConfig(hidden_size=128)
    assert small.fingerprint() != wide.fingerprint()
    assert build_model_config(wide).text_config.hidden_size == 128


def test_image_tokens_must_be_square():
    with pytest.raises(ValueError, match="square number, got 6"):
        build_model_config(TinyConfig(image_tokens=6))


def test_attention_logits_start_at_unit_scale(tiny):
    model, _ = tiny
    head_dim = model.config.text_config.head_dim
    for layer in model.model.language_model.layers:
        assert torch.allclose(layer.self_attn.q_norm.weight, torch.tensor(head_dim**-0.25))
        assert torch.allclose(layer.self_attn.k_norm.weight, torch.tensor(head_dim**-0.25))


def _mean_image_token_cosine(model) -> float:
    generator = torch.Generator().manual_seed(123)
    blobs = torch.nn.functional.interpolate(torch.rand(8, 3, 6, 6, generator=generator), size=(64, 64), mode="bilinear")
    with torch.inference_mode():
        tokens = model.model.get_image_features(blobs, return_dict=True).pooler_output.flatten(1)
    tokens = torch.nn.functional.normalize(tokens, dim=1)
    return (tokens @ tokens.T)[~torch.eye(8, dtype=torch.bool)].mean().item()


def test_different_images_give_different_image_tokens(tiny):
    """The random encoder's fixed output pattern is projected out: without that, the image tokens of
    any two images point the same way and the model learns to ignore them."""
    model, _ = tiny
    plain, _ = build_tiny_model(TinyConfig(center_image_projection=False))
    assert _mean_image_token_cosine(model) < 0.5 < _mean_image_token_cosine(plain)
