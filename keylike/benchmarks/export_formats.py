"""Export formats one at a time and record each one's outcome: sizes, load time, latency and parity,
or the error that stopped it (the formats CI cannot build or run are recorded here).

Runs `keylike.model.export.export_model` on the pipeline's outputs with one format per call, the
params' export block otherwise; a KeylikeError is recorded, not raised. One JSON per format:

    python -m keylike.benchmarks.export_formats --formats litertlm,gguf \\
        --adapter data/models/adapter --merged data/models/merged --split data/split \\
        --images data/ingested --out-dir metrics/benchmarks
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

from keylike.benchmarks import command_line
from keylike.benchmarks.machine import machine
from keylike.config import load_params
from keylike.errors import KeylikeError
from keylike.io import write_json
from keylike.model.export import ExportConfig, export_model
from keylike.model.export.core import exporter_for


def record_format(config: ExportConfig, name: str, *, adapter: Path, merged: Path, split: Path, images: Path) -> dict:
    """Export format `name` into a temp folder; its metrics entry, or the error that stopped it."""
    single = dataclasses.replace(config, formats=(name,), min_agreement=0.0)
    with tempfile.TemporaryDirectory(prefix=f"export-{name}-") as work:
        try:
            report = export_model(single, adapter_dir=adapter, merged_dir=merged, split_dir=split,
                                  images_dir=images, out_dir=Path(work) / "export")
        except KeylikeError as exc:
            return {"ok": False, "error": str(exc), "versions": exporter_for(name).versions()}
    metrics = report.to_json()
    return {
        "ok": True,
        "parity_samples": metrics["parity_samples"],
        "min_agreement_of_the_stage": config.min_agreement,
        "passes_the_stage": metrics["formats"][name]["answer_agreement"] >= config.min_agreement,
        "reference": metrics["reference"],
        "result": metrics["formats"][name],
        "answers": [{"id": row["id"], "reference": row["reference"], name: row[name]} for row in report.parity_rows()],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m keylike.benchmarks.export_formats", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--formats", required=True, help="comma-separated formats to record")
    parser.add_argument("--adapter", type=Path, default=Path("data/models/adapter"))
    parser.add_argument("--merged", type=Path, default=Path("data/models/merged"))
    parser.add_argument("--split", type=Path, default=Path("data/split"))
    parser.add_argument("--images", type=Path, default=Path("data/ingested"))
    parser.add_argument("--out-dir", type=Path, default=Path("metrics/benchmarks"))
    parser.add_argument("--note", default="", help="what the inputs are (e.g. which model), stored in the JSON")
    args = parser.parse_args(argv)
    config = ExportConfig.from_params(load_params(args.params))
    for name in args.formats.split(","):
        outcome = record_format(config, name, adapter=args.adapter, merged=args.merged, split=args.split, images=args.images)
        write_json(args.out_dir / f"export_{name}.json", {
            "command": command_line("keylike.benchmarks.export_formats", argv),
            "note": args.note,
            "machine": machine(),
            "format": name,
            **outcome,
        })


if __name__ == "__main__":
    main()
