"""A full-size Gemma 3n E4B with random weights, for GPU benchmarks and the GPU proof of the recipe.

No weights can be downloaded, so this builds the real architecture (the default `Gemma3nConfig`,
7.8 B parameters) with random weights, and a processor shaped like the real one: a tokenizer with the
real id layout (262,144 text ids + 256 multimodal ids; the specials at Gemma's ids), a
`SiglipImageProcessor` at 768 x 768 without normalisation, and 256 image tokens per image. Its speed
and memory are the real model's; what it says is noise until it is trained.

    python -m keylike.model.full_size /tmp/gemma-3n-e4b-random    # about 16 GB in bf16
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from keylike.model.tiny import CHAT_TEMPLATE, GEMMA_MEDIA_TOKENS, GEMMA_SPECIAL_TOKENS, tokenizer_corpus

TEXT_VOCAB_SIZE = 262_144
"""Ids of the text vocabulary (`Gemma3nTextConfig.vocab_size_per_layer_input`)."""
VOCAB_SIZE = 262_400
"""All ids: the text vocabulary plus 256 multimodal ids (`Gemma3nTextConfig.vocab_size`)."""
IMAGE_SIZE = 768
"""Gemma 3n's image side, in pixels."""
IMAGE_TOKENS = 256
"""Soft tokens per image (`Gemma3nConfig.vision_soft_tokens_per_image`)."""

SPECIAL_IDS = {
    "<pad>": 0,
    "<eos>": 1,
    "<bos>": 2,
    "<unk>": 3,
    "<start_of_turn>": 105,
    "<end_of_turn>": 106,
    "<start_of_image>": 255_999,
    "<start_of_audio>": 256_000,
    "<end_of_image>": 262_144,
    "<image_soft_token>": 262_145,
    "<end_of_audio>": 262_272,
    "<audio_soft_token>": 262_273,
}
"""Gemma 3n's special tokens at their real ids (the ids `Gemma3nConfig` expects)."""

def build_tokenizer(vocab_size: int = VOCAB_SIZE, merges_vocab: int = 512) -> Any:
    """A byte-level BPE tokenizer learnt on the tiny model's corpus, laid out on Gemma 3n's `vocab_size` ids.

    Learnt tokens take the ids after `<end_of_turn>`; the specials sit at their Gemma ids; every other
    id is an `<unusedN>` filler inside the BPE vocabulary that encoding never produces, as in Gemma's
    own tokenizer (the tiny tokenizer's 262 k added tokens would take 13 s to load: cold start).
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    learner = Tokenizer(models.BPE())
    learner.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    learner.train_from_iterator(
        tokenizer_corpus(),
        trainers.BpeTrainer(vocab_size=merges_vocab, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                            show_progress=False),
    )
    learnt = json.loads(learner.to_str())["model"]
    free = (i for i in range(vocab_size) if i > SPECIAL_IDS["<end_of_turn>"] and i not in SPECIAL_IDS.values())
    vocab = dict(SPECIAL_IDS)
    for token, _ in sorted(learnt["vocab"].items(), key=lambda item: item[1]):
        vocab[token] = next(free)
    vocab.update({f"<unused{i}>": i for i in range(vocab_size) if i not in set(vocab.values())})
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in learnt["merges"]]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in SPECIAL_IDS])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        **GEMMA_SPECIAL_TOKENS,
        extra_special_tokens={
            **GEMMA_MEDIA_TOKENS,
            "start_of_turn_token": "<start_of_turn>",
            "end_of_turn_token": "<end_of_turn>",
        },
        chat_template=CHAT_TEMPLATE,
        padding_side="right",
    )


def build_processor(image_size: int = IMAGE_SIZE, vocab_size: int = VOCAB_SIZE) -> Any:
    """A `Gemma3nProcessor` with Gemma 3n's image settings and `build_tokenizer()`."""
    from transformers import Gemma3nAudioFeatureExtractor, Gemma3nProcessor, SiglipImageProcessor

    image_processor = SiglipImageProcessor(
        size={"height": image_size, "width": image_size},
        do_normalize=False,
        do_rescale=True,
        rescale_factor=1 / 255,
        resample=2,
    )
    return Gemma3nProcessor(
        feature_extractor=Gemma3nAudioFeatureExtractor(),
        image_processor=image_processor,
        tokenizer=build_tokenizer(vocab_size),
        chat_template=CHAT_TEMPLATE,
        image_seq_length=IMAGE_TOKENS,
    )


def build_model(dtype: torch.dtype = torch.bfloat16, device: str | torch.device = "cuda", seed: int = 0) -> Any:
    """The default `Gemma3nConfig` (Gemma 3n E4B) with random weights, built directly on `device`."""
    from transformers import Gemma3nConfig, Gemma3nForConditionalGeneration

    torch.manual_seed(seed)
    config = Gemma3nConfig()
    config.text_config.use_cache = True
    with torch.device(device):
        model = Gemma3nForConditionalGeneration._from_config(config, dtype=dtype)
    model.generation_config.eos_token_id = [SPECIAL_IDS["<eos>"], SPECIAL_IDS["<end_of_turn>"]]
    model.generation_config.pad_token_id = SPECIAL_IDS["<pad>"]
    model.generation_config.bos_token_id = SPECIAL_IDS["<bos>"]
    return model.eval()


def save_full_size(out_dir: Path, model: Any = None, processor: Any = None, device: str = "cuda") -> Path:
    """Save `model` and `processor` (built here when None) to `out_dir` like a hub checkpoint (16 GB in bf16)."""
    from keylike.io import atomic_directory

    model = build_model(device=device) if model is None else model
    processor = build_processor() if processor is None else processor
    with atomic_directory(Path(out_dir)) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
    return Path(out_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m keylike.model.full_size", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the model and processor to")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    print(save_full_size(args.out, device=args.device))


if __name__ == "__main__":
    main()
