"""Step time (forward + backward, 8 photos of the train split) of the train stage's model under the pinned
numerics: 1 vs 2 threads, LoRA as params.yaml has it vs LoRA on the ResNet's layers 3-4 only. A measurement for
the 15-minute budget (issue 14), not a check of exactness (two threads were checked on both vendors afterwards, in
gpu_calls/session9/call1, and became the default).
Run after `dvc repro`: python metrics/benchmarks/speed_options.py metrics/benchmarks/speed_options.json"""
import sys
import time

from keylike.numerics import pinned_cpu_numerics, set_cpu_threads

with pinned_cpu_numerics():
    from PIL import Image

    from keylike.benchmarks.model_trace import training_step_inputs
    from keylike.config import load_params
    from keylike.io import read_jsonl
    from keylike.model.training import TrainConfig
    from keylike.model.training.backends import load_backend
    rows = read_jsonl("data/split/train.jsonl")[:8]
    results = {}
    for layers in (None, r"layer[34]\."):
        params = load_params("params.yaml")
        params["train"]["encoder_layers"] = layers
        config = TrainConfig.from_params(params)
        backend = load_backend(config)
        model, processor = backend.model, backend.processor
        model.train()
        images = [Image.open("data/ingested/" + r["image"]).convert("RGB").resize((192, 192)) for r in rows]
        inputs = training_step_inputs(processor, images)
        for threads in (1, 2, 1, 2):
            set_cpu_threads(threads)
            model.zero_grad(); model(**inputs, labels=inputs["input_ids"]).loss.backward()
            t = time.perf_counter()
            for _ in range(3):
                model.zero_grad(); model(**inputs, labels=inputs["input_ids"]).loss.backward()
            results.setdefault(f"layers={layers} threads={threads}", []).append(round((time.perf_counter() - t) / 3, 3))
            print(results, flush=True)
    from keylike.benchmarks.machine import machine
    from keylike.io import write_json
    write_json(sys.argv[1], {"command": "python metrics/benchmarks/speed_options.py metrics/benchmarks/speed_options.json", "machine": machine(), "seconds_per_step_of_8": results})
