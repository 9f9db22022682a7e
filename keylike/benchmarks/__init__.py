"""Benchmarks run as `python -m keylike.benchmarks.<name>`; results in metrics/benchmarks/<name>.json."""
