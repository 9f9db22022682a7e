"""The answer format the model is trained to write, and its strict parser."""

from __future__ import annotations

import re
from dataclasses import dataclass

from keylike.errors import AnswerParseError, InvalidBittingError, UnknownKeywayError
from keylike.keys.bittings import validate_bitting
from keylike.keys.specs import get_spec

INSTRUCTION = (
    "Identify this house key. Answer in exactly three lines: KEYWAY: <keyway code>, "
    "BITTING: <cut depth codes from bow to tip, comma-separated>, BRAND: <brand>."
)
"""The fixed prompt: it names the format, never a label (the prototype leaked labels into its prompt)."""

_ANSWER_RE = re.compile(r"KEYWAY: (?P<keyway>[A-Z0-9]+)\nBITTING: (?P<bitting>\d(?:,\d)*)\nBRAND: (?P<brand>[A-Za-z ]+)")


@dataclass(frozen=True)
class KeyLabel:
    """What keylike reads from a key: keyway, bitting (in the keyway's bitting order) and brand."""

    keyway: str
    bitting: tuple[int, ...]
    brand: str


def format_answer(label: KeyLabel) -> str:
    """The training target, e.g. `KEYWAY: SC1\\nBITTING: 1,2,5,3,7\\nBRAND: Schlage`."""
    return f"KEYWAY: {label.keyway}\nBITTING: {','.join(map(str, label.bitting))}\nBRAND: {label.brand}"


def parse_answer(text: str) -> KeyLabel:
    """Parse an answer strictly: exactly the three lines, a known keyway, its brand, a cuttable bitting."""
    stripped = text.strip()
    match = _ANSWER_RE.fullmatch(stripped)
    if match is None:
        raise AnswerParseError(text, "expected exactly 'KEYWAY: ..\\nBITTING: d,d,..\\nBRAND: ..'")
    label = KeyLabel(
        keyway=match["keyway"],
        bitting=tuple(int(d) for d in match["bitting"].split(",")),
        brand=match["brand"],
    )
    try:
        spec = get_spec(label.keyway)
        validate_bitting(spec, label.bitting)
    except (UnknownKeywayError, InvalidBittingError) as exc:
        raise AnswerParseError(text, str(exc)) from exc
    if label.brand != spec.brand:
        raise AnswerParseError(text, f"brand {label.brand!r} does not make keyway {spec.code} ({spec.brand})")
    return label
