"""Where two machines' training steps part: the md5 of every module's output, every gradient and the weights
after an AdamW step of the train stage's model, under keylike's pinned CPU numerics on `train.cpu_threads` threads.

One training step of the model the train stage builds from params.yaml (`train.base_model` wrapped in its
LoRA) on a seeded photo and a fixed answer: each module's output (forward hooks, in forward order), the
gradient at each module's output (in backward order), each trained parameter's gradient, then those
parameters after one AdamW step.
Run it on two machines and `--compare` the files: the first name that differs is the module (or the
optimiser) whose arithmetic is machine-dependent. numerics_fingerprint does the same for single operations.

    python -m keylike.benchmarks.model_trace --params params.yaml --out trace.json
    python -m keylike.benchmarks.model_trace --compare a.json b.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from keylike.benchmarks.machine import machine
from keylike.io import write_json
from keylike.numerics import pinned_cpu_numerics, set_cpu_threads


def _tensors(value: Any) -> list[Any]:
    """Every tensor in a module output (a tensor, a tuple, a list or a dict such as a ModelOutput; dicts by sorted key)."""
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for key in sorted(value, key=str) for t in _tensors(value[key])]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    return []


def _md5(value: Any) -> str | None:
    """md5 of all tensors in `value` (see _tensors); None when it holds none."""
    tensors = _tensors(value)
    if not tensors:
        return None
    digest = hashlib.md5()
    for tensor in tensors:
        digest.update(tensor.detach().float().contiguous().numpy().tobytes())
    return digest.hexdigest()


def training_step_inputs(processor: Any, images: list[Any]) -> Any:
    """The processor's batch for one training step: each photo with the stage's prompt and a fixed answer."""
    from keylike.model.inference import prompt_messages

    text = processor.apply_chat_template(prompt_messages(), add_generation_prompt=True) + "SC1 35264<end_of_turn>"
    return processor(text=[text] * len(images), images=[[image] for image in images], return_tensors="pt")


def trace(params: Path, seed: int = 0) -> dict[str, str]:
    """Ordered md5s of one training step of the train stage's model for `params` (see the module docstring)."""
    import numpy as np
    import torch
    from PIL import Image

    from keylike.config import load_params
    from keylike.model.training import TrainConfig
    from keylike.model.training.backends import load_backend

    config = TrainConfig.from_params(load_params(params))
    set_cpu_threads(config.cpu_threads)
    backend = load_backend(config)
    model, processor, image_size = backend.model, backend.processor, config.image_size
    model.train()
    image = Image.fromarray(np.random.default_rng(seed).integers(0, 256, (image_size, image_size, 3), dtype=np.uint8))
    inputs = training_step_inputs(processor, [image])
    hashes: dict[str, str] = {}
    backward: dict[str, str] = {}
    calls: dict[str, list[str]] = {}

    def record(name: str) -> Any:
        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            digest = _md5(output)
            if digest is not None:
                calls.setdefault(f"forward:{name}", []).append(digest)
            if isinstance(output, torch.Tensor) and output.requires_grad:
                output.register_hook(lambda grad: record_gradient(name, grad))
        return hook

    def record_gradient(name: str, grad: Any) -> None:
        backward.setdefault(f"backward:{name}", _md5(grad))

    handles = [module.register_forward_hook(record(name or "model")) for name, module in model.named_modules()]
    loss = model(**inputs, labels=inputs["input_ids"]).loss
    for handle in handles:
        handle.remove()
    # a module called more than once in a step (the rotary embedding, once per attention type in a set's
    # order, which differs per process): its calls' digests in sorted order
    hashes |= {name: digests[0] if len(digests) == 1 else hashlib.md5("".join(sorted(digests)).encode()).hexdigest()
               for name, digests in calls.items()}
    hashes["loss"] = _md5(loss)
    loss.backward()
    hashes |= backward
    params = [(name, p) for name, p in model.named_parameters() if p.grad is not None]
    hashes |= {f"grad:{name}": _md5(p.grad) for name, p in params}
    torch.optim.AdamW([p for _, p in params], lr=1e-3, weight_decay=0.01).step()
    hashes["adamw_step"] = _md5(torch.cat([p.detach().flatten() for _, p in params]))
    return hashes


def first_differences(first: dict[str, str], second: dict[str, str], limit: int = 12) -> list[str]:
    """The first `limit` names, in the first file's order, whose md5 differs in the second."""
    return [name for name, digest in first.items() if second.get(name) != digest][:limit]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m keylike.benchmarks.model_trace", description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params.yaml with a `train` block (default: %(default)s)")
    parser.add_argument("--out", type=Path, help="write this machine's trace here")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="print the first names that differ between two files")
    args = parser.parse_args(argv)
    if args.compare:
        first, second = (dict(json.loads(p.read_text())["trace"]) for p in args.compare)
        differing = first_differences(first, second, limit=len(first))
        print(json.dumps({"compared": len(first), "differing": len(differing), "first": differing[:12]}, indent=1))
        return
    with pinned_cpu_numerics():
        hashes = trace(args.params)
    result = {"machine": machine(), "trace": list(hashes.items())}  # pairs: the order is the finding
    if args.out:
        write_json(args.out, result)
    print(f"{len(hashes)} hashes; loss {hashes['loss']}, after AdamW {hashes['adamw_step']}")


if __name__ == "__main__":
    main()
