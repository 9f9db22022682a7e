"""The PyTorch formats: the LoRA adapter (PEFT, loaded onto its base) and the merged 16-bit model.

Both run in transformers with keylike's own greedy generation, so they are what a server runs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from keylike.errors import KeylikeError
from keylike.model.adapter import read_adapter_info
from keylike.model.export.base import ExportConfig, Runner, Sources
from keylike.model.export.tools import package_versions, require
from keylike.numerics import set_cpu_threads


def link_or_copy_tree(src: Path, dst: Path) -> None:
    """Copy folder `src` into `dst`, hard-linking files where the file system allows it (no second copy)."""

    def link_or_copy(a: str, b: str) -> None:
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    shutil.copytree(src, dst, copy_function=link_or_copy, dirs_exist_ok=True)


def device_and_dtype(config: ExportConfig) -> tuple[Any, Any]:
    """The torch device and dtype of the PyTorch runs (`auto`: CUDA + bfloat16 when there is a GPU)."""
    import torch

    device = config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = config.dtype if config.dtype != "auto" else ("bfloat16" if device == "cuda" else "float32")
    return torch.device(device), getattr(torch, dtype)


def generation_runner(model: Any, processor: Any, config: ExportConfig) -> Runner:
    """A runner over keylike's greedy generation (the same call the benchmark and the server make)."""
    from keylike.model.inference import generate_answers

    def run(image: Any) -> str:
        return generate_answers(model, processor, [image], batch_size=1, max_new_tokens=config.max_new_tokens)[0].text

    return run


class MergedExporter:
    """The merged 16-bit model as saved by the merge stage: loads with `AutoModelForImageTextToText`."""

    name = "merged"
    runtime = "transformers"

    def check_tools(self) -> None:
        require(self.name, {"transformers": "transformers"})

    def build(self, sources: Sources, out_dir: Path, config: ExportConfig) -> None:
        link_or_copy_tree(sources.merged_dir, out_dir)

    def load(self, out_dir: Path, config: ExportConfig) -> Runner:
        from keylike.model.inference import load_for_inference

        set_cpu_threads(config.cpu_threads)
        model, processor = load_for_inference(out_dir, config.device, config.dtype)
        return generation_runner(model, processor, config)

    def versions(self) -> dict[str, str]:
        return package_versions("torch", "transformers")


class AdapterExporter:
    """The LoRA adapter in PEFT format: `PeftModel.from_pretrained(base, adapter)`, unmerged."""

    name = "adapter"
    runtime = "transformers+peft"

    def check_tools(self) -> None:
        require(self.name, {"transformers": "transformers", "peft": "peft"})

    def build(self, sources: Sources, out_dir: Path, config: ExportConfig) -> None:
        if not (sources.adapter_dir / "adapter_config.json").is_file():
            raise KeylikeError(f"adapter folder {sources.adapter_dir} has no adapter_config.json; run the train stage")
        link_or_copy_tree(sources.adapter_dir, out_dir)

    def load(self, out_dir: Path, config: ExportConfig) -> Runner:
        from peft import PeftModel
        from transformers import AutoProcessor

        from keylike.model.loading import load_base_model, set_image_size

        set_cpu_threads(config.cpu_threads)
        device, dtype = device_and_dtype(config)
        info = read_adapter_info(out_dir)
        base, processor = load_base_model(info.base_model, image_size=info.image_size, dtype=str(dtype).removeprefix("torch."))
        model = PeftModel.from_pretrained(base, out_dir).to(device).eval()
        if (out_dir / "processor_config.json").is_file():
            processor = AutoProcessor.from_pretrained(out_dir)
            set_image_size(processor, info.image_size)
        return generation_runner(model, processor, config)

    def versions(self) -> dict[str, str]:
        return package_versions("torch", "transformers", "peft")
