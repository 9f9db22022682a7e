"""Batched greedy generation on the tiny Gemma 3n: order, batching, greedy choice, probabilities, spans."""

import numpy as np
import pytest
import torch
from PIL import Image

from keylike.evaluation.confidence import answer_confidence, field_confidences
from keylike.keys import INSTRUCTION, parse_fields
from keylike.model.inference import _to_generation, build_prompt, generate_answers, stop_token_ids
from keylike.model.tiny import TinyConfig, build_tiny_model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny():
    """The embedded tiny Gemma 3n (random weights) and its processor, in memory."""
    return build_tiny_model(TinyConfig())


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (48, 96, 3), dtype=np.uint8)) for _ in range(5)]


def test_prompt_is_one_user_turn_with_the_image_and_instruction(tiny):
    _, processor = tiny
    prompt = build_prompt(processor)
    assert prompt.count(processor.image_token) == 1
    assert INSTRUCTION in prompt
    assert prompt.endswith("<start_of_turn>model\n")


def test_batched_generation_keeps_order_and_matches_one_by_one(tiny, images):
    model, processor = tiny
    batched = generate_answers(model, processor, images, batch_size=3, max_new_tokens=8)
    single = generate_answers(model, processor, images, batch_size=1, max_new_tokens=8)
    assert len(batched) == len(images)
    assert [g.token_ids for g in batched] == [g.token_ids for g in single]
    assert [g.text for g in batched] == [g.text for g in single]
    for b, s in zip(batched, single):
        assert b.token_probs == pytest.approx(s.token_probs, rel=1e-4)
    # images 0-2 share a batch, so they share its wall time
    assert batched[0].latency_s == batched[2].latency_s > 0


def test_tokens_are_greedy_and_probabilities_are_the_models(tiny, images):
    """Re-score the generated tokens with one forward pass: each is the argmax and has the recorded probability."""
    model, processor = tiny
    (generation,) = generate_answers(model, processor, images[:1], batch_size=1, max_new_tokens=8, grammar=False)
    inputs = processor(text=[build_prompt(processor)], images=[[images[0].convert("RGB")]], return_tensors="pt")
    prompt_length = inputs["input_ids"].shape[1]
    generated = torch.tensor([generation.token_ids])
    with torch.inference_mode():
        logits = model(
            input_ids=torch.cat([inputs["input_ids"], generated], dim=1),
            attention_mask=torch.ones(1, prompt_length + generated.shape[1], dtype=torch.long),
            pixel_values=inputs["pixel_values"],
        ).logits[0, prompt_length - 1 : -1]
    probs = torch.softmax(logits.float(), dim=-1)
    assert logits.argmax(dim=-1).tolist() == list(generation.token_ids)
    expected = probs.gather(-1, generated[0].unsqueeze(-1)).squeeze(-1).tolist()
    assert list(generation.token_probs) == pytest.approx(expected, rel=1e-3)


def test_spans_tile_the_text(tiny, images):
    model, processor = tiny
    for generation in generate_answers(model, processor, images, batch_size=5, max_new_tokens=8):
        assert len(generation.token_ids) == len(generation.token_probs) == len(generation.token_spans)
        assert "".join(generation.text[s:e] for s, e in generation.token_spans) == generation.text
        assert all(0.0 < p <= 1.0 for p in generation.token_probs)


def test_answer_is_cut_at_the_stop_token_and_fields_map_to_their_tokens(tiny):
    """With the real tokenizer: a hand-made answer, then <end_of_turn> and padding."""
    model, processor = tiny
    tokenizer = processor.tokenizer
    answer = "KEYWAY: SC1\nBITTING: 1,2,5,3,7\nBRAND: Schlage"
    ids = tokenizer.encode(answer, add_special_tokens=False)
    end_of_turn = tokenizer.convert_tokens_to_ids("<end_of_turn>")
    assert end_of_turn in stop_token_ids(model, processor)
    padded = ids + [end_of_turn, tokenizer.pad_token_id, tokenizer.pad_token_id]
    probs = [0.9] * len(ids) + [0.8, 0.1, 0.1]
    generation = _to_generation(tokenizer, padded, probs, stop_token_ids(model, processor), latency=1.0)
    assert generation.text == answer
    assert generation.token_ids == (*ids, end_of_turn)
    assert generation.token_spans[-1] == (len(answer), len(answer))  # the stop token has no text
    # the tiny tokenizer keeps digits single: the bitting value is 9 tokens, 1,2,5,3,7 and 4 commas
    parsed = parse_fields(generation.text)
    start, end = parsed.spans["bitting"]
    bitting_tokens = [i for i, (s, e) in enumerate(generation.token_spans) if s < end and e > start]
    assert [answer[slice(*generation.token_spans[i])] for i in bitting_tokens] == list("1,2,5,3,7")
    confidences = field_confidences(parsed, generation.token_spans, generation.token_probs)
    assert confidences["bitting"] == pytest.approx(0.9**9)
    assert answer_confidence(parsed, generation.token_spans, generation.token_probs) < confidences["bitting"]


def test_batch_size_must_be_positive(tiny, images):
    model, processor = tiny
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        generate_answers(model, processor, images, batch_size=0)


def test_auto_cache_is_static_on_cuda_only():
    from keylike.model.inference import AUTO_CACHE, resolve_cache_implementation

    assert resolve_cache_implementation(AUTO_CACHE, "cuda") == "static"
    assert resolve_cache_implementation(AUTO_CACHE, "cpu") is None
    assert resolve_cache_implementation("static", "cpu") == "static"
    assert resolve_cache_implementation(None, "cuda") is None


def test_grammar_keeps_answers_possible_and_probabilities_among_allowed_tokens(tiny, images):
    """With the answer grammar, a random model still only writes prefixes of possible answers, and each
    token's probability is its share among the tokens the grammar allows there: above the model's raw one."""
    from transformers import LogitsProcessorList

    from keylike.keys.answer import is_answer_prefix
    from keylike.model.grammar import AnswerGrammar

    model, processor = tiny
    free = generate_answers(model, processor, images, batch_size=5, max_new_tokens=12, grammar=False)
    held = generate_answers(model, processor, images, batch_size=5, max_new_tokens=12, grammar=True)
    assert not all(is_answer_prefix(g.text) for g in free)  # the random tiny model writes anything
    assert all(is_answer_prefix(g.text) for g in held)

    inputs = processor(text=[build_prompt(processor)] * len(images), images=[[i] for i in images], padding=True,
                       padding_side="left", return_tensors="pt")
    prompt_length = inputs["input_ids"].shape[1]
    stops = stop_token_ids(model, processor)
    with torch.inference_mode():
        output = model.generate(**inputs, do_sample=False, max_new_tokens=12, return_dict_in_generate=True,
                                output_logits=True, logits_processor=LogitsProcessorList(
                                    [AnswerGrammar(processor.tokenizer, prompt_length, stops)]))
    chosen = output.sequences[:, prompt_length:].unsqueeze(-1)
    raw = torch.softmax(torch.stack(output.logits, 1).float(), -1).gather(-1, chosen).squeeze(-1)
    for generation, raw_probs in zip(held, raw):
        steps = len(generation.token_probs)
        assert all(p <= 1.0 + 1e-6 for p in generation.token_probs)
        assert all(h >= r - 1e-6 for h, r in zip(generation.token_probs, raw_probs[:steps].tolist()))
    assert any(h > r + 1e-3 for g, r in zip(held, raw) for h, r in zip(g.token_probs, r.tolist()))
