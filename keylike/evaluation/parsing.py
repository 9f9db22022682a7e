"""Field-by-field reading of a model answer, for per-field metrics and token-level confidence.

`keylike.keys.parse_answer` is the strict parser: an answer is *compliant* only if it passes it
(exactly the three lines, a known keyway, that keyway's brand, a cuttable bitting). A non-compliant
answer can still get some fields right, so the per-field metrics read each field on its own:
a field is the value of the one line `FIELD: value` (surrounding spaces ignored). A field that is
missing, written twice or (for BITTING) not a comma-separated list of single digits is `None`,
and counts as wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from keylike.errors import AnswerParseError
from keylike.keys import NO_KEY_ANSWER, KeyLabel, parse_answer

FIELDS = ("keyway", "bitting", "brand")
"""The answer's fields, in answer order."""

_LINE_RE = re.compile(r"^[ \t]*(KEYWAY|BITTING|BRAND)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*$", re.MULTILINE)
_BITTING_RE = re.compile(r"\d(?:[ \t]*,[ \t]*\d)*")


@dataclass(frozen=True)
class ParsedAnswer:
    """One answer, read strictly (`label`) and field by field (`keyway`, `bitting`, `brand`)."""

    text: str
    keyway: str | None
    bitting: tuple[int, ...] | None
    brand: str | None
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Character span [start, end) in `text` of each field's value that was read."""
    label: KeyLabel | None = None
    """The strict parse; None when the answer is not compliant."""
    error: str | None = None
    """Why the strict parse failed (None when compliant)."""

    @property
    def compliant(self) -> bool:
        """True when the answer passes the strict parser (format, keyway, brand, length, range, MACS)."""
        return self.label is not None


def parse_fields(text: str) -> ParsedAnswer:
    """Read `text` strictly and field by field (see the module docstring for the rules); `NO KEY` reads as
    keyway NONE with no bitting and no brand."""
    if text.strip() == NO_KEY_ANSWER:
        label = KeyLabel.no_key()
        span = (text.index(NO_KEY_ANSWER), text.index(NO_KEY_ANSWER) + len(NO_KEY_ANSWER))
        return ParsedAnswer(text, label.keyway, label.bitting, label.brand, {"keyway": span}, label)
    values: dict[str, str | None] = {}
    spans: dict[str, tuple[int, int]] = {}
    matches: dict[str, list[re.Match[str]]] = {}
    for match in _LINE_RE.finditer(text):
        matches.setdefault(match[1].lower(), []).append(match)
    for name in FIELDS:
        found = matches.get(name, [])
        if len(found) == 1 and found[0]["value"]:
            values[name] = found[0]["value"]
            spans[name] = found[0].span("value")
    bitting_text = values.get("bitting")
    bitting = None
    if bitting_text is not None and _BITTING_RE.fullmatch(bitting_text):
        bitting = tuple(int(d) for d in bitting_text.split(","))
    else:
        spans.pop("bitting", None)
    try:
        label, error = parse_answer(text), None
    except AnswerParseError as exc:
        label, error = None, exc.reason
    return ParsedAnswer(
        text=text,
        keyway=values.get("keyway"),
        bitting=bitting,
        brand=values.get("brand"),
        spans=spans,
        label=label,
        error=error,
    )
