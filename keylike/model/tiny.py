"""The embedded tiny Gemma 3n: a real `Gemma3nForConditionalGeneration` small enough for a 2-core CPU.

Nothing is downloaded: the tokenizer is a BPE trained here on the prompt and answer vocabulary and
laid out like Gemma 3n's (text ids, then 128 vision ids starting at `<end_of_image>`, then 128 audio
ids starting at `<end_of_audio>`); the vision tower is timm's MobileNetV5 with its channels divided
by 64 and its multi-scale fusion pooled to 2 x 2 (4 image tokens, each 2048 wide as in the real
model); weights are initialised from a fixed seed, so every build is bit-identical.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from keylike.keys import INSTRUCTION, NO_KEY_ANSWER, KeyLabel, format_answer, load_specs

SPECIAL_TOKENS = (
    "<pad>",
    "<eos>",
    "<bos>",
    "<unk>",
    "<start_of_turn>",
    "<end_of_turn>",
    "<start_of_image>",
    "<start_of_audio>",
)
"""Text special tokens, in id order: pad 0, eos 1, bos 2 as in Gemma 3n."""

MEDIA_VOCAB = 128
"""Ids reserved for each of the vision and audio embedders (as in Gemma 3n)."""

GEMMA_SPECIAL_TOKENS = {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>"}
"""The tokenizer's special tokens, as in Gemma 3n."""

GEMMA_MEDIA_TOKENS = {
    "image_token": "<image_soft_token>",
    "boi_token": "<start_of_image>",
    "eoi_token": "<end_of_image>",
    "audio_token": "<audio_soft_token>",
    "boa_token": "<start_of_audio>",
    "eoa_token": "<end_of_audio>",
}
"""The named media tokens `Gemma3nProcessor` looks up on the tokenizer."""

MOBILENETV5 = "mobilenetv5_300m_enc"
"""Gemma 3n's own vision tower."""

BUILD_VERSION = 4
"""Part of the fingerprint: bump it when build_tiny_model changes the weights it makes."""

CHAT_TEMPLATE = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- set role = "model" if message['role'] == 'assistant' else message['role'] -%}
    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'audio' -%}
                {{ '<audio_soft_token>' }}
            {%- elif item['type'] == 'image' -%}
                {{ '<image_soft_token>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{ '<start_of_turn>model\\n' }}
{%- endif -%}
"""
"""Gemma's chat template: `<start_of_turn>user\\n...<end_of_turn>\\n<start_of_turn>model\\n`."""


@dataclass(frozen=True)
class TinyConfig:
    """Sizes of the tiny Gemma 3n (the defaults are the embedded profile's model)."""

    text_vocab_size: int = 272
    """Text ids (special tokens, BPE vocabulary, unused fillers); media ids follow."""
    hidden_size: int = 64
    """Width of the language model."""
    intermediate_size: int = 256
    """Width of each MLP."""
    num_layers: int = 4
    """Decoder layers (the last one uses global attention, the others a sliding window)."""
    num_heads: int = 2
    """Attention heads (one key/value head)."""
    head_dim: int = 32
    """Width of each attention head."""
    per_layer_size: int = 16
    """Width of Gemma 3n's per-layer input embeddings."""
    vision_architecture: str = MOBILENETV5
    """timm architecture of the vision tower: Gemma 3n's MobileNetV5, or another timm CNN whose
    final feature map (stride 32) gives the image tokens (e.g. `resnet18`)."""
    vision_channel_multiplier: float = 1 / 64
    """MobileNetV5's channel multiplier (1.0 is the real encoder)."""
    vision_hidden_size: int = 2048
    """Channels of the vision tower's output (2048 for MobileNetV5, 512 for resnet18)."""
    image_tokens: int = 16
    """Soft tokens per image (a square number: MobileNetV5's fusion adapter pools to sqrt x sqrt;
    another CNN's stride-32 map must have this many cells); 16 (4 x 4) lets some tokens see mostly
    key and little background."""
    image_size: int = 64
    """Default image side of the processor (training sets its own)."""
    qk_norm_weight: float | None = None
    """Initial weight of every q_norm and k_norm; None: head_dim ** -0.25, which gives unit-variance
    attention logits at init (Gemma 3n does not scale q.k by 1/sqrt(head_dim)). With transformers'
    default of 1.0 the random attention is so peaked that the tiny model never learns to read the image."""
    center_image_projection: bool = True
    """Project the random encoder's fixed output pattern out of the vision-to-text projection
    (see `_center_image_projection`); off: transformers' plain random init."""
    seed: int = 0
    """Seed of the weight initialisation."""

    def fingerprint(self) -> str:
        """Hash of these sizes and the tokenizer corpus: the name of the cached build."""
        payload = json.dumps({"config": asdict(self), "corpus": tokenizer_corpus(), "build": BUILD_VERSION}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def tokenizer_corpus() -> list[str]:
    """What the tokenizer is trained on: the instruction, the turn roles, one answer per keyway."""
    answers = [
        format_answer(KeyLabel(spec.code, tuple(spec.depth_codes[i % len(spec.depth_codes)] for i in range(spec.cuts)), spec.brand))
        for spec in load_specs().values()
    ]
    return [INSTRUCTION, "user\nmodel\n", NO_KEY_ANSWER, *answers]


def build_tokenizer(config: TinyConfig = TinyConfig()) -> Any:
    """A BPE tokenizer (newlines and digits kept single) padded to the Gemma 3n id layout; a transformers tokenizer."""
    import string

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split("\n", behavior="isolated"), pre_tokenizers.Digits(individual_digits=True)]
    )
    tokenizer.decoder = decoders.Fuse()
    trainer = trainers.BpeTrainer(
        vocab_size=config.text_vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=sorted(set(string.printable) - set("\t\r\x0b\x0c")),
        show_progress=False,
    )
    tokenizer.train_from_iterator(tokenizer_corpus(), trainer)
    trained = tokenizer.get_vocab_size()
    if trained > config.text_vocab_size:
        raise ValueError(f"tiny tokenizer needs {trained} text ids, more than text_vocab_size={config.text_vocab_size}")
    tokenizer.add_special_tokens([f"<unused{i}>" for i in range(config.text_vocab_size - trained)])
    for media, prefix in (("image", "vision"), ("audio", "audio")):
        fillers = [f"<unused_{prefix}{i}>" for i in range(MEDIA_VOCAB - 2)]
        tokenizer.add_special_tokens([f"<end_of_{media}>", f"<{media}_soft_token>", *fillers])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, **GEMMA_SPECIAL_TOKENS, extra_special_tokens=dict(GEMMA_MEDIA_TOKENS)
    )


def build_processor(config: TinyConfig = TinyConfig()) -> Any:
    """A real `Gemma3nProcessor`: the tiny tokenizer, a SiglipImageProcessor without normalisation."""
    from transformers import Gemma3nAudioFeatureExtractor, Gemma3nProcessor, SiglipImageProcessor

    image_processor = SiglipImageProcessor(
        size={"height": config.image_size, "width": config.image_size},
        do_normalize=False,
        do_rescale=True,
        resample=2,
    )
    return Gemma3nProcessor(
        feature_extractor=Gemma3nAudioFeatureExtractor(),
        image_processor=image_processor,
        tokenizer=build_tokenizer(config),
        chat_template=CHAT_TEMPLATE,
        image_seq_length=config.image_tokens,
        audio_seq_length=config.image_tokens,
    )


def build_model_config(config: TinyConfig = TinyConfig()) -> Any:
    """The `Gemma3nConfig` of the tiny model; special ids follow `build_tokenizer`'s layout."""
    from transformers import Gemma3nConfig

    vision_offset = config.text_vocab_size
    audio_offset = vision_offset + MEDIA_VOCAB
    ids = {name: SPECIAL_TOKENS.index(f"<{name}>") for name in ("pad", "eos", "bos", "end_of_turn")}
    eos = [ids["eos"], ids["end_of_turn"]]
    layer_types = ["sliding_attention"] * (config.num_layers - 1) + ["full_attention"]
    fusion_side = round(config.image_tokens**0.5)
    if fusion_side**2 != config.image_tokens:
        raise ValueError(f"tiny image_tokens must be a square number, got {config.image_tokens}")
    return Gemma3nConfig(
        text_config={
            "vocab_size": audio_offset + MEDIA_VOCAB,
            "vocab_size_per_layer_input": config.text_vocab_size,
            "hidden_size": config.hidden_size,
            "intermediate_size": config.intermediate_size,
            "num_hidden_layers": config.num_layers,
            "num_attention_heads": config.num_heads,
            "num_key_value_heads": 1,
            "head_dim": config.head_dim,
            "hidden_size_per_layer_input": config.per_layer_size,
            "num_kv_shared_layers": 0,
            "laurel_rank": 8,
            "altup_num_inputs": 2,
            "layer_types": layer_types,
            "sliding_window": 128,
            "max_position_embeddings": 1024,
            "pad_token_id": ids["pad"],
            "eos_token_id": eos,
            "bos_token_id": ids["bos"],
        },
        vision_config={**vision_tower_config(config), "vocab_offset": vision_offset, "vocab_size": MEDIA_VOCAB},
        audio_config={
            "vocab_offset": audio_offset,
            "vocab_size": MEDIA_VOCAB,
            "hidden_size": 16,
            "conf_num_hidden_layers": 1,
            "conf_num_attention_heads": 2,
            "sscp_conv_channel_size": [8, 4],
        },
        vision_soft_tokens_per_image=config.image_tokens,
        audio_soft_tokens_per_image=config.image_tokens,
        boi_token_id=SPECIAL_TOKENS.index("<start_of_image>"),
        eoi_token_id=vision_offset,
        image_token_id=vision_offset + 1,
        boa_token_id=SPECIAL_TOKENS.index("<start_of_audio>"),
        eoa_token_id=audio_offset,
        audio_token_id=audio_offset + 1,
        pad_token_id=ids["pad"],
        eos_token_id=eos,
        bos_token_id=ids["bos"],
    )


def vision_tower_config(config: TinyConfig) -> dict[str, Any]:
    """The tower part of `Gemma3nVisionConfig`: MobileNetV5 shrunk, or another timm CNN at full width."""
    side = round(config.image_tokens**0.5)
    if config.vision_architecture == MOBILENETV5:
        return {"model_args": {"channel_multiplier": config.vision_channel_multiplier, "msfa_output_resolution": side}}
    if config.image_size != 32 * side:
        raise ValueError(
            f"{config.vision_architecture} gives one token per 32 px: image_size {config.image_size} needs "
            f"image_tokens {(config.image_size // 32) ** 2}, got {config.image_tokens}"
        )
    return {"architecture": config.vision_architecture, "hidden_size": config.vision_hidden_size, "model_args": {}}


def build_tiny_model(config: TinyConfig = TinyConfig()) -> tuple[Any, Any]:
    """Build (model, processor) in memory; the same config gives bit-identical weights."""
    import torch
    from transformers import Gemma3nForConditionalGeneration

    processor = build_processor(config)
    model_config = build_model_config(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = Gemma3nForConditionalGeneration(model_config)
        model.eval()
        if config.center_image_projection:
            _center_image_projection(model, config)
    qk_weight = config.qk_norm_weight if config.qk_norm_weight is not None else config.head_dim**-0.25
    with torch.no_grad():
        for layer in model.model.language_model.layers:
            layer.self_attn.q_norm.weight.fill_(qk_weight)
            layer.self_attn.k_norm.weight.fill_(qk_weight)
    model.generation_config.eos_token_id = model_config.eos_token_id
    model.generation_config.pad_token_id = model_config.pad_token_id
    model.eval()
    return model, processor


def _center_image_projection(model: Any, config: TinyConfig, samples: int = 16) -> None:
    """Make the vision-to-text projection blind to what a random encoder outputs for any image.

    A randomly initialised MobileNetV5 answers every image with mostly the same pattern (about 90% of
    the variance of its output is fixed per token position); projected as is, the image tokens are
    nearly identical and the tiny model learns to ignore them. The projection's rows are made
    orthogonal to the mean (normalised) output on seeded smooth noise images (colour blobs at 2 to 16
    cells per side, photo-like), so image tokens carry what differs between images. Runs on one
    thread, so every machine sums in the same order (bit-identical builds); uses the caller's RNG.
    """
    import torch
    import torch.nn.functional as F

    side = config.image_size
    noise = torch.cat(
        [F.interpolate(torch.rand(samples, 3, cells, cells), size=(side, side), mode="bilinear") for cells in (2, 4, 8, 16)]
    )
    embedder = model.model.embed_vision
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            output = model.model.vision_tower(pixel_values=noise, do_pooling=False, return_dict=True).last_hidden_state
            tokens = output.flatten(2).permute(0, 2, 1) * model.config.vision_config.hidden_size**0.5
            fixed, _ = torch.linalg.qr(embedder.soft_embedding_norm(tokens).mean(0).T)
            weight = embedder.embedding_projection.weight
            weight -= (weight @ fixed) @ fixed.T
    finally:
        torch.set_num_threads(threads)


def save_tiny_model(out_dir: Path | str, config: TinyConfig = TinyConfig()) -> Path:
    """Build the tiny model and save it (weights, config, processor) like a hub checkpoint."""
    from keylike.io import atomic_directory

    out_dir = Path(out_dir)
    model, processor = build_tiny_model(config)
    with atomic_directory(out_dir) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
    return out_dir
