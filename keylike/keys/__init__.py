"""Key specs, bittings, keyspace counts and the answer format."""

from keylike.keys.answer import (
    FIELDS,
    INSTRUCTION,
    MAX_ANSWER_TOKENS,
    NO_KEY,
    NO_KEY_ANSWER,
    KeyLabel,
    ParsedAnswer,
    format_answer,
    parse_answer,
    parse_fields,
)
from keylike.keys.bittings import count_keyspace, is_valid_bitting, sample_bitting, validate_bitting
from keylike.keys.specs import KeywaySpec, brands, get_spec, keyway_codes, load_specs, source_descriptions

__all__ = [
    "FIELDS",
    "INSTRUCTION",
    "MAX_ANSWER_TOKENS",
    "NO_KEY",
    "NO_KEY_ANSWER",
    "KeyLabel",
    "KeywaySpec",
    "ParsedAnswer",
    "brands",
    "count_keyspace",
    "format_answer",
    "get_spec",
    "is_valid_bitting",
    "keyway_codes",
    "load_specs",
    "parse_answer",
    "parse_fields",
    "sample_bitting",
    "source_descriptions",
    "validate_bitting",
]
