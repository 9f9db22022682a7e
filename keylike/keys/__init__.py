"""Key specs, bittings, keyspace counts and the answer format."""

from keylike.keys.answer import INSTRUCTION, NO_KEY, NO_KEY_ANSWER, KeyLabel, format_answer, parse_answer
from keylike.keys.bittings import count_keyspace, is_valid_bitting, sample_bitting, validate_bitting
from keylike.keys.specs import KeywaySpec, brands, get_spec, keyway_codes, load_specs, source_descriptions

__all__ = [
    "INSTRUCTION",
    "NO_KEY",
    "NO_KEY_ANSWER",
    "KeyLabel",
    "KeywaySpec",
    "brands",
    "count_keyspace",
    "format_answer",
    "get_spec",
    "is_valid_bitting",
    "keyway_codes",
    "load_specs",
    "parse_answer",
    "sample_bitting",
    "source_descriptions",
    "validate_bitting",
]
