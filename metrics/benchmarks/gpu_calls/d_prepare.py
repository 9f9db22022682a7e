"""Device call D: data and params for the GGUF export of the full-size random Gemma 3n E4B."""
import sys
from pathlib import Path

import yaml

from keylike.benchmarks.gpu_profile import prepare_data, production_params

work = Path(sys.argv[1])
params = production_params("params.yaml", ["ingest.synthetic_count=40"])
print(prepare_data(params, work))
params["export"].update(formats=["gguf"], parity_samples=3, max_new_tokens=8, gguf_outtype="bf16", cpu_threads=16,
                        device="cuda", dtype="bfloat16")
(work / "params.yaml").write_text(yaml.safe_dump(params))
