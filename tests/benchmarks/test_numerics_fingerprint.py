"""keylike.benchmarks.numerics_fingerprint: settings reach the fresh process, and compare names what differs."""

from __future__ import annotations

from keylike.benchmarks.numerics_fingerprint import compare, fingerprint_settings
from keylike.numerics import NATIVE


def test_compare_names_the_operations_whose_md5_differs_per_setting():
    first = {"settings": {"pinned": {"mm": "a", "sqrt": "b"}, "other": {"mm": "c"}}}
    second = {"settings": {"pinned": {"mm": "a", "sqrt": "x"}}}
    assert compare(first, second) == {"pinned": ["sqrt"], "other": ["mm"]}


def test_a_setting_reaches_the_process_and_the_pinned_run_repeats():
    """Two fresh pinned processes give the same hashes; MKL's AVX2 branch changes the matrix products."""
    runs = fingerprint_settings({"pinned": {}, "again": {}, "mkl_avx2": {"MKL_CBWR": "AVX2,STRICT"}})
    assert runs["pinned"] == runs["again"]
    assert len(runs["pinned"]) >= 20
    assert runs["mkl_avx2"]["mm_200x2048x2048"] != runs["pinned"]["mm_200x2048x2048"]
    assert runs["mkl_avx2"]["layer_norm"] == runs["pinned"]["layer_norm"]  # ATen's own kernel, not MKL
    native = fingerprint_settings({"native": {NATIVE: "1"}})["native"]
    assert native["sqrt"] != runs["pinned"]["sqrt"] == runs["pinned"]["pow_half"]  # vendor_neutral_math in the pinned run
