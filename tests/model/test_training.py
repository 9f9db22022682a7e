"""Training on the tiny Gemma 3n: what is supervised, the image size, what LoRA adapts, checkpoints, curves."""

import importlib.util
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from keylike.config import load_params
from keylike.errors import ConfigError, KeylikeError
from keylike.io import read_metrics
from keylike.keys import INSTRUCTION, format_answer
from keylike.model.dataset import INSTRUCTION_PART, RESPONSE_PART, build_dataset, make_row
from keylike.model.training import TrainConfig, TrainResult, encoder_conv_names, load_backend, unsloth_collator_kwargs
from keylike.model.training.backends import compile_decoder_layers
from keylike.model.training.checkpoints import CHECKPOINT_STATE_NAME, finish_checkpoints, last_checkpoint, prepare_checkpoints
from keylike.model.training.trainer import build_trainer, final_evaluation, sft_config

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[2]


def make_config(**overrides) -> TrainConfig:
    """The committed train params on the tiny model, with `overrides`."""
    config = TrainConfig.from_params(load_params(REPO / "params.yaml"))
    tiny = {"backend": "hf", "base_model": "tiny", "load_in_4bit": False, "precision": "fp32", "lora_scope": "language"}
    return replace(config, **{**tiny, **overrides})


@pytest.fixture(scope="module")
def hf_trainer(tiny_split, tmp_path_factory):
    """An SFTTrainer as train_adapter builds it (hf backend, 80 px images), and its config."""
    config = make_config(image_size=80, lora_scope="language", modules_to_save=())
    backend = load_backend(config)
    records = tiny_split.records
    train = build_dataset(records["train"], tiny_split.images_dir, backend.row_format)
    val = build_dataset(records["val"], tiny_split.images_dir, backend.row_format)
    return build_trainer(backend, train, val, sft_config(config, tmp_path_factory.mktemp("ckpt"))), config, backend


def test_committed_params_build_a_config():
    config = TrainConfig.from_params(load_params(REPO / "params.yaml"))
    assert config.seed == load_params(REPO / "params.yaml")["base"]["seed"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"backend": "keras"}, "train.backend must be one of hf, unsloth, got 'keras'"),
        ({"lora_scope": "everything"}, "train.lora_scope must be one of language, projection, encoder"),
        ({"learning_rate": 0.0}, "train.learning_rate must be > 0, got 0.0"),
        ({"max_steps": 0}, "train.max_steps must be > 0 or null, got 0"),
        ({"load_in_4bit": True, "precision": "fp32"}, "train.load_in_4bit needs precision bf16 or fp16"),
        ({"dataloader_workers": -1}, "train.dataloader_workers must be >= 0, got -1"),
        ({"backend": "unsloth", "compile_layers": True}, "train.compile_layers is for the hf backend"),
        ({"lora_scope": "encoder", "encoder_layers": "layer[3"}, "train.encoder_layers: 'layer\\[3' is not a regex"),
        ({"lora_scope": "language", "encoder_layers": "layer4"}, "train.encoder_layers applies to lora_scope encoder"),
        ({"processes": 0}, "train.processes must be > 0, got 0"),
        ({"batch_size": 8, "processes": 3}, r"train.batch_size \(8\) must be divisible by train.processes \(3\)"),
        ({"backend": "unsloth", "processes": 2}, "train.processes above 1 needs backend hf"),
    ],
)
def test_bad_values_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        make_config(**overrides)


def test_loader_workers_reach_the_trainer(tiny_split, tmp_path):
    assert sft_config(make_config(), tmp_path).dataloader_num_workers == 0
    args = sft_config(make_config(dataloader_workers=3), tmp_path)
    assert args.dataloader_num_workers == 3 and args.dataloader_persistent_workers


def test_each_process_takes_its_share_of_the_global_batch(tmp_path):
    args = sft_config(make_config(batch_size=8, grad_accum=2, processes=2), tmp_path)
    assert (args.per_device_train_batch_size, args.per_device_eval_batch_size, args.gradient_accumulation_steps) == (4, 4, 2)


def test_compile_layers_compiles_each_decoder_layer_in_place():
    backend = load_backend(make_config(compile_layers=True))
    layers = [m for m in backend.model.modules() if type(m).__name__.endswith("DecoderLayer")]
    assert len(layers) == 4 and all(layer._compiled_call_impl is not None for layer in layers)
    assert torch._dynamo.config.recompile_limit >= len(layers)
    with pytest.raises(ConfigError, match="train.compile_layers: Linear has no decoder layers"):
        compile_decoder_layers(torch.nn.Linear(2, 2))


def test_only_the_answer_and_end_of_turn_are_supervised(hf_trainer, tiny_split):
    """Prompt and image tokens get label -100; the labels left are the answer's tokens, then <end_of_turn>."""
    trainer, _, backend = hf_trainer
    tokenizer = backend.processor.tokenizer
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])
    image_id = backend.model.config.image_token_id
    assert (batch["input_ids"] == image_id).any()
    assert (batch["labels"][batch["input_ids"] == image_id] == -100).all()
    for row, record in enumerate(tiny_split.records["train"][:3]):
        supervised = batch["labels"][row][batch["labels"][row] != -100].tolist()
        expected = tokenizer(format_answer(record.label) + "<end_of_turn>\n", add_special_tokens=False).input_ids
        assert supervised == expected
        prompt = tokenizer.decode(batch["input_ids"][row][batch["labels"][row] == -100])
        assert INSTRUCTION in prompt and prompt.endswith("<start_of_turn>model\n")
        assert format_answer(record.label) not in prompt


def test_images_reach_the_model_at_the_configured_size(hf_trainer):
    trainer, config, _ = hf_trainer
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    assert batch["pixel_values"].shape == (2, 3, config.image_size, config.image_size) == (2, 3, 80, 80)


def test_unsloth_collator_gets_the_exact_size_and_gemma_turn_markers():
    kwargs = unsloth_collator_kwargs(make_config(image_size=768))
    assert kwargs["resize"] == (768, 768)  # not "min", which falls back to 512 px for Gemma 3n
    assert kwargs["train_on_responses_only"] is True
    assert (kwargs["instruction_part"], kwargs["response_part"]) == ("<start_of_turn>user\n", "<start_of_turn>model\n")


def test_turn_markers_split_a_messages_row_into_prompt_and_answer(tiny_split):
    """What train_on_responses_only relies on: each marker's ids occur once in the tokenized row, and
    what follows the model marker is exactly the answer and <end_of_turn>."""
    from keylike.model.loading import load_processor

    processor = load_processor("tiny", 64)
    tokenizer = processor.tokenizer
    record = tiny_split.records["train"][0]
    row = make_row(None, record.label, "messages")
    ids = tokenizer(processor.apply_chat_template(row["messages"], tokenize=False), add_special_tokens=False).input_ids

    def find(part):
        needle = tokenizer(part, add_special_tokens=False).input_ids
        return [i for i in range(len(ids)) if ids[i : i + len(needle)] == needle], len(needle)

    (user_at,), _ = find(INSTRUCTION_PART)
    (model_at,), length = find(RESPONSE_PART)
    assert user_at < model_at
    expected = tokenizer(format_answer(record.label) + "<end_of_turn>\n", add_special_tokens=False).input_ids
    assert ids[model_at + length :] == expected


def test_unsloth_collator_masks_prompt_and_resizes(tiny_model_dir, tiny_split, monkeypatch):
    """The real UnslothVisionDataCollator on a plain model (runs on a CPU only with UNSLOTH_ALLOW_CPU=1)."""
    monkeypatch.setenv("UNSLOTH_ALLOW_CPU", "1")
    unsloth_trainer = pytest.importorskip("unsloth.trainer", reason="unsloth is the GPU extra")
    from keylike.model.loading import load_base_model

    config = make_config(image_size=96)
    model, processor = load_base_model("tiny", image_size=config.image_size)
    collator = unsloth_trainer.UnslothVisionDataCollator(model, processor, **unsloth_collator_kwargs(config))
    dataset = build_dataset(tiny_split.records["train"][:2], tiny_split.images_dir, "messages")
    batch = collator([dataset[0], dataset[1]])
    assert batch["pixel_values"].shape[-2:] == (96, 96)
    for row, record in enumerate(tiny_split.records["train"][:2]):
        supervised = batch["labels"][row][batch["labels"][row] != -100].tolist()
        expected = processor.tokenizer(format_answer(record.label) + "<end_of_turn>\n", add_special_tokens=False).input_ids
        assert supervised == expected


def test_unsloth_backend_without_unsloth_says_how_to_get_it():
    if importlib.util.find_spec("unsloth") is not None:
        pytest.skip("unsloth is installed")
    with pytest.raises(KeylikeError, match=r"pip install -e '\.\[gpu\]'.*or set train.backend=hf"):
        load_backend(make_config(backend="unsloth", precision="bf16"))


def _lora_expected(model, names, r):
    """Trainable LoRA parameters for adapting `names`: r * (fan_in + out) for Linear, r * (in * k * k + out) for Conv2d."""
    modules = dict(model.named_modules())
    total = 0
    for name in names:
        module = modules[name]
        if isinstance(module, torch.nn.Conv2d):
            total += r * (module.in_channels * module.kernel_size[0] * module.kernel_size[1] + module.out_channels)
        else:
            total += r * (module.in_features + module.out_features)
    return total


@pytest.mark.parametrize("scope", ["language", "projection", "encoder"])
def test_lora_scope_adapts_exactly_its_modules(scope):
    from keylike.model.loading import load_base_model

    config = make_config(lora_scope=scope, lora_r=4, modules_to_save=())
    base, _ = load_base_model("tiny", image_size=64)
    language = [
        f"model.language_model.layers.{i}.{part}"
        for i in range(base.config.text_config.num_hidden_layers)
        for part in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")
    ]
    expected = language + (["model.embed_vision.embedding_projection"] if scope != "language" else [])
    expected += encoder_conv_names(base) if scope == "encoder" else []
    expected_count = _lora_expected(base, expected, config.lora_r)

    model = load_backend(config).model
    adapted = {name.removeprefix("base_model.model.") for name, module in model.named_modules() if hasattr(module, "lora_A")}
    assert adapted == set(expected)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == expected_count


def test_scopes_train_more_and_more_parameters():
    counts = [
        sum(p.numel() for p in load_backend(make_config(lora_scope=s, modules_to_save=())).model.parameters() if p.requires_grad)
        for s in ("language", "projection", "encoder")
    ]
    assert counts[0] < counts[1] < counts[2]


def test_encoder_scope_skips_grouped_and_same_padded_convolutions():
    from keylike.model.loading import load_base_model

    base, _ = load_base_model("tiny", image_size=64)
    modules = dict(base.named_modules())
    names = encoder_conv_names(base)
    assert names and all(type(modules[n]) is torch.nn.Conv2d and modules[n].groups == 1 for n in names)
    grouped = [n for n, m in modules.items() if isinstance(m, torch.nn.Conv2d) and n.startswith("model.vision_tower") and n not in names]
    assert grouped  # depthwise and Conv2dSame layers exist and are left alone


def test_encoder_layers_pick_which_convolutions_lora_adapts():
    from keylike.model.loading import load_base_model

    base, _ = load_base_model("tiny", image_size=64)
    every = encoder_conv_names(base)
    first = every[0].removeprefix("model.vision_tower.")
    picked = encoder_conv_names(base, re.escape(first) + "$")
    assert picked == [every[0]] and len(every) > 1
    model = load_backend(make_config(lora_scope="encoder", encoder_layers=re.escape(first) + "$")).model
    adapted_convs = [n for n, m in model.named_modules() if hasattr(m, "lora_A") and "vision_tower" in n]
    assert [n.removeprefix("base_model.model.") for n in adapted_convs] == [every[0]]
    with pytest.raises(ConfigError, match="matches train.encoder_layers 'nothing-here'"):
        encoder_conv_names(base, "nothing-here")


def test_modules_to_save_are_trained_in_full():
    plain = load_backend(make_config(modules_to_save=())).model
    extended = load_backend(make_config(modules_to_save=("embed_vision",))).model
    vision = sum(p.numel() for n, p in extended.named_parameters() if p.requires_grad and "embed_vision" in n)
    assert vision == sum(p.numel() for p in plain.base_model.model.model.embed_vision.parameters())


def test_checkpoints_of_another_run_are_discarded(tmp_path):
    (tmp_path / "checkpoint-4").mkdir()
    (tmp_path / "checkpoint-4" / "trainer_state.json").write_text("{}")
    (tmp_path / CHECKPOINT_STATE_NAME).write_text(json.dumps({"fingerprint": "old"}))
    assert prepare_checkpoints(tmp_path, "old") == tmp_path / "checkpoint-4"
    assert prepare_checkpoints(tmp_path, "new") is None
    assert not (tmp_path / "checkpoint-4").exists()


def test_last_checkpoint_skips_a_half_written_one(tmp_path):
    for step, complete in ((3, True), (12, True), (15, False)):
        (tmp_path / f"checkpoint-{step}").mkdir()
        if complete:
            (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert last_checkpoint(tmp_path) == tmp_path / "checkpoint-12"


def test_finished_run_leaves_only_its_state_file(tmp_path):
    (tmp_path / "checkpoint-8").mkdir()
    (tmp_path / "README.md").write_text("model card")
    finish_checkpoints(tmp_path, "abc")
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT_STATE_NAME]
    assert json.loads((tmp_path / CHECKPOINT_STATE_NAME).read_text()) == {"fingerprint": "abc", "status": "complete"}


def test_final_evaluation_is_the_one_logged_at_the_last_step():
    history = [{"step": 150, "eval_loss": 0.08}, {"step": 200, "loss": 0.1}, {"step": 200, "eval_loss": 0.05},
               {"step": 200, "train_runtime": 9.0}]
    assert final_evaluation(history, 200) == {"step": 200, "eval_loss": 0.05}
    assert final_evaluation(history, 250) is None  # not evaluated there: the trainer evaluates again


def test_result_writes_metrics_and_one_tsv_per_curve(tmp_path):
    history = [
        {"step": 10, "loss": 2.5, "learning_rate": 0.001},
        {"step": 20, "loss": 1.25, "learning_rate": 0.0005, "eval_loss": 1.5},
    ]
    TrainResult({"steps": 20, "eval_loss": 1.5}, history).write(tmp_path / "train.json", tmp_path / "plots")
    assert json.loads((tmp_path / "train.json").read_text()) == {"eval_loss": 1.5}  # the headline
    assert read_metrics(tmp_path / "train.json") == {"steps": 20, "eval_loss": 1.5}
    assert (tmp_path / "plots" / "loss.tsv").read_text() == "step\tloss\n10\t2.5\n20\t1.25\n"
    assert (tmp_path / "plots" / "eval_loss.tsv").read_text() == "step\teval_loss\n20\t1.5\n"
    assert (tmp_path / "plots" / "learning_rate.tsv").read_text() == "step\tlearning_rate\n10\t0.001\n20\t0.0005\n"


def test_modules_to_save_that_match_nothing_are_refused():
    with pytest.raises(ConfigError, match=r"train.modules_to_save \['no_such_module'\] matched no module of 'tiny'"):
        load_backend(make_config(modules_to_save=("no_such_module",)))
