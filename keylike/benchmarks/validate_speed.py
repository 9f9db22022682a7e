"""Validate stage wall time on the default 720-record synthetic set, and a Data Docs screenshot of a failing set.

Ingest (params.yaml's `ingest` block: 720 synthetic keys at 192 px) runs first, untimed. Then the
validate stage runs as `python stages/validate.py ...` in a fresh process `--repeats` times: the wall time
includes Python start-up and the import of great-expectations, as `dvc repro` sees it. With
`--screenshot`, faults are put into a copy of the set (a MACS violation, a wrong brand, an unknown
keyway, an out-of-range depth, one image under two labels, a truncated image, too many quarantined
records), the stage runs on it (and fails), and headless Chromium photographs its Data Docs page.

    python -m keylike.benchmarks.validate_speed --out metrics/benchmarks/validate_speed.json \
        --screenshot metrics/plots/validation_docs_failing.png
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from keylike.benchmarks import command_line
from keylike.benchmarks.machine import machine
from keylike.config import load_params
from keylike.data.ingest import IngestConfig, ingest
from keylike.data.manifest import MANIFEST_NAME, QUARANTINE_NAME, read_manifest, write_manifest
from keylike.io import read_metrics, write_json

STAGE = Path(__file__).resolve().parents[2] / "stages" / "validate.py"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def _validate(params: Path, data: Path, work: Path) -> tuple[float, subprocess.CompletedProcess]:
    """Run the validate stage in a fresh process; return its wall time and result."""
    command = [sys.executable, str(STAGE), "--params", str(params), "--data", str(data),
               "--docs", str(work / "docs"), "--metrics", str(work / "validation.json")]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    return time.perf_counter() - start, result


def inject_faults(data: Path) -> None:
    """Break a few records of an ingested set in the ways validation must catch."""
    records = read_manifest(data / MANIFEST_NAME)
    first = {k: [i for i, r in enumerate(records) if r.keyway == k] for k in ("SC1", "KW1")}
    sc1, kw1 = first["SC1"], first["KW1"]
    records[sc1[0]] = dataclasses.replace(records[sc1[0]], bitting=(0, 8, 2, 3, 4))
    records[sc1[1]] = dataclasses.replace(records[sc1[1]], brand="Kwikset")
    records[kw1[0]] = dataclasses.replace(records[kw1[0]], keyway="KW99")
    records[kw1[1]] = dataclasses.replace(records[kw1[1]], bitting=(1, 2, 3, 4, 8))
    records.append(dataclasses.replace(records[sc1[2]], id="user-L17", source="user", bitting=(5, 5, 5, 5, 5)))
    path = data / records[kw1[2]].image
    path.write_bytes(path.read_bytes()[:500])
    records[kw1[2]] = dataclasses.replace(records[kw1[2]], sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    write_manifest(data / MANIFEST_NAME, records)
    quarantined = [json.dumps({"source": "user", "line": n, "reason": "not an image"}) + "\n" for n in range(40)]
    (data / QUARANTINE_NAME).write_text("".join(quarantined))


def screenshot(page: Path, out: Path) -> None:
    """Photograph `page` in headless Chromium at 1400 x 1800."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed: apt-get install -y chromium")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="keylike-chromium-") as profile:
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={out.resolve()}",
                        "--window-size=1400,1800", page.resolve().as_uri()], capture_output=True, check=True)


def measure(params: Path, repeats: int, shot: Path | None) -> dict:
    """Ingest the default set, time the validate stage on it, optionally photograph a failing set's docs."""
    with tempfile.TemporaryDirectory(prefix="keylike-validate-speed-") as tmp:
        work = Path(tmp)
        (work / "raw").mkdir()
        ingest(IngestConfig.from_params(load_params(params)), work / "raw", work / "ingested")
        records = len(read_manifest(work / "ingested" / MANIFEST_NAME))
        runs = []
        for _ in range(repeats):
            seconds, result = _validate(params, work / "ingested", work)
            if result.returncode != 0:
                raise RuntimeError(f"validate failed on the clean set:\n{result.stderr[-3000:]}")
            runs.append(round(seconds, 2))
            print(f"validate: {records} records in {seconds:.2f} s", file=sys.stderr)
        failing = None
        if shot is not None:
            shutil.copytree(work / "ingested", work / "bad")
            inject_faults(work / "bad")
            _, result = _validate(params, work / "bad", work)
            metrics = read_metrics(work / "validation.json")
            screenshot(next((work / "docs").glob("validations/**/*.html")), shot)
            failing = {"exit_code": result.returncode, "failed_expectations": metrics["failed"],
                       "screenshot": str(shot)}
    return {
        "command": command_line("keylike.benchmarks.validate_speed"),
        "records": records,
        "wall_s": runs,
        "median_wall_s": statistics.median(runs),
        "failing_set": failing,
        "git_revision": subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                       capture_output=True, text=True).stdout.strip(),
        "machine": machine(("great_expectations", "pandas", "pillow")),
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write its JSON."""
    parser = argparse.ArgumentParser(prog="python -m keylike.benchmarks.validate_speed", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="its ingest and validate blocks")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the stage (default 3)")
    parser.add_argument("--screenshot", type=Path, default=None, help="PNG of a failing set's Data Docs page")
    parser.add_argument("--out", type=Path, default=Path("metrics/benchmarks/validate_speed.json"))
    args = parser.parse_args(argv)
    result = measure(args.params, args.repeats, args.screenshot)
    write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("records", "median_wall_s")}))


if __name__ == "__main__":
    main()
