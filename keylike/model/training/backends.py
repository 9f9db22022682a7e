"""The two training backends (`hf`: transformers + PEFT; `unsloth`: FastVisionModel) and the model fixes and
compilation they share: each hands the trainer a LoRA-wrapped model, its processor, collator and row format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keylike.errors import ConfigError, KeylikeError
from keylike.model.dataset import INSTRUCTION_PART, RESPONSE_PART, RowFormat
from keylike.model.loading import load_base_model, resolve_base_model, set_image_size, torch_dtype
from keylike.model.training.config import TrainConfig
from keylike.model.training.targets import lora_config, lora_target_regex


def unsloth_collator_kwargs(config: TrainConfig) -> dict[str, Any]:
    """UnslothVisionDataCollator options: the exact image size (not its 512 px fallback), loss on answers only."""
    return {
        "resize": (config.image_size, config.image_size),
        "train_on_responses_only": True,
        "instruction_part": INSTRUCTION_PART,
        "response_part": RESPONSE_PART,
    }


@dataclass(frozen=True)
class Backend:
    """What a backend hands the trainer: the LoRA-wrapped model, its processor, collator and row format."""

    model: Any
    processor: Any
    collator: Any
    """None: TRL picks its vision collator (hf); else unsloth's collator."""
    row_format: RowFormat
    processing_class: Any


def _hf_backend(config: TrainConfig) -> Backend:
    """transformers + PEFT: the model wrapped in LoRA; TRL picks its own vision collator."""
    from peft import get_peft_model, prepare_model_for_kbit_training

    model, processor = load_base_model(
        config.base_model, image_size=config.image_size, dtype=config.precision, load_in_4bit=config.load_in_4bit
    )
    if config.load_in_4bit:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing)
    freeze_vision_batch_norm(model)
    if config.lora_scope == "encoder":
        copy_vision_output(model)
    model = get_peft_model(model, lora_config(config, model))
    if config.compile_layers:
        compile_decoder_layers(model)
    return Backend(model, processor, None, "prompt_completion", processor)


def freeze_vision_batch_norm(model: Any) -> int:
    """Keep the vision tower's batch-norm statistics as pretrained while fine-tuning; returns how many.

    The trainer puts the model in train mode, where a BatchNorm2d normalises by the batch's own
    statistics and overwrites its running ones: a CNN tower (the embedded base's ResNet) would then
    see other features than at inference, and a frozen tower would change. timm's FrozenBatchNorm2d
    always uses the stored statistics (MobileNetV5 has no batch norm: nothing to do there).
    """
    import torch
    from timm.layers import freeze_batch_norm_2d

    wrappers = [m for name, m in model.named_modules() if name.endswith("vision_tower") and hasattr(m, "timm_model")]
    frozen = 0
    for wrapper in wrappers:
        frozen += sum(isinstance(m, torch.nn.BatchNorm2d) for m in wrapper.timm_model.modules())
        wrapper.timm_model = freeze_batch_norm_2d(wrapper.timm_model)
    return frozen


def copy_vision_output(model: Any) -> None:
    """Give the vision tower's output its own storage, so a trained tower can backpropagate.

    Gemma 3n scales the tower's output in place (`last_hidden_state *= ...`); when the tower ends in an
    in-place ReLU (a ResNet) and its weights are trained, autograd then finds the ReLU's saved output
    modified. A forward hook on the tower returns a copy; MobileNetV5 is unaffected either way.
    """
    def hook(module: Any, args: Any, kwargs: Any, output: Any) -> Any:
        output.last_hidden_state = output.last_hidden_state.clone()
        return output

    for name, module in model.named_modules():
        if name.endswith("vision_tower") and hasattr(module, "timm_model"):
            module.register_forward_hook(hook, with_kwargs=True)


def compile_decoder_layers(model: Any) -> int:
    """Compile every decoder layer of `model` in place with torch.compile; returns how many."""
    layers = [module for module in model.modules() if type(module).__name__.endswith("DecoderLayer")]
    if not layers:
        raise ConfigError(f"train.compile_layers: {type(model).__name__} has no decoder layers to compile")
    import torch._dynamo

    # layers share one forward, so each distinct kind of layer (sliding or full attention, KV-shared,
    # activation sparsity: ~9 in Gemma 3n E4B) is one more compile of it; dynamo's default limit is 8
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, len(layers))
    for layer in layers:
        layer.compile()
    return len(layers)


def _import_unsloth() -> tuple[Any, Any]:
    """(FastVisionModel, UnslothVisionDataCollator), or a KeylikeError saying how to get unsloth."""
    try:
        from unsloth import FastVisionModel
        from unsloth.trainer import UnslothVisionDataCollator
    except ImportError as exc:
        raise KeylikeError(
            "train.backend=unsloth needs unsloth, a GPU-only extra: pip install -e '.[gpu]' on the GPU machine, "
            f"or set train.backend=hf ({exc})"
        ) from exc
    return FastVisionModel, UnslothVisionDataCollator


def _unsloth_backend(config: TrainConfig) -> Backend:
    """unsloth: FastVisionModel with LoRA and UnslothVisionDataCollator on `messages` rows."""
    FastVisionModel, UnslothVisionDataCollator = _import_unsloth()
    model, processor = FastVisionModel.from_pretrained(
        resolve_base_model(config.base_model),
        load_in_4bit=config.load_in_4bit,
        dtype=torch_dtype(config.precision),
        use_gradient_checkpointing="unsloth" if config.gradient_checkpointing else False,
    )
    set_image_size(processor, config.image_size)
    model = FastVisionModel.get_peft_model(
        model,
        target_modules=lora_target_regex(model, config.lora_scope, config.encoder_layers),
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        bias="none",
        random_state=config.seed,
        modules_to_save=list(config.modules_to_save) or None,
    )
    FastVisionModel.for_training(model)
    collator = UnslothVisionDataCollator(model, processor, **unsloth_collator_kwargs(config))
    return Backend(model, processor, collator, "messages", processor.tokenizer)


_BACKEND_BUILDERS: dict[str, Callable[[TrainConfig], Backend]] = {"hf": _hf_backend, "unsloth": _unsloth_backend}


def load_backend(config: TrainConfig) -> Backend:
    """The base model wrapped in LoRA (seeded by config.seed), with what `config.backend` trains it with."""
    from transformers import set_seed

    if config.backend == "unsloth":
        _import_unsloth()  # unsloth patches transformers and TRL: import it first
    set_seed(config.seed)
    backend = _BACKEND_BUILDERS[config.backend](config)
    _check_modules_to_save(backend.model, config)
    return backend


def _check_modules_to_save(model: Any, config: TrainConfig) -> None:
    """Every `train.modules_to_save` entry must have become a fully trained copy (some backends drop it)."""
    wrapped = [name for name, module in model.named_modules() if type(module).__name__ == "ModulesToSaveWrapper"]
    missing = [key for key in config.modules_to_save if not any(name.endswith(key) for name in wrapped)]
    if missing:
        raise ConfigError(
            f"train.modules_to_save {missing} matched no module of {config.base_model!r} with the {config.backend} "
            "backend; name modules of the base model (e.g. embed_tokens) or set modules_to_save: []"
        )
