"""The answer format the model is trained to write, its strict parser, and its field-by-field reader.

`parse_answer` is the strict parser: an answer is *compliant* only if it passes it (exactly the three
lines, a known keyway, that keyway's brand, a cuttable bitting). A non-compliant answer can still get
some fields right, so `parse_fields` also reads each field on its own: a field is the value of the one
line `FIELD: value` (surrounding spaces ignored). A field that is missing, written twice or (for
BITTING) not a comma-separated list of single digits is `None`, and counts as wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from keylike.errors import AnswerParseError, InvalidBittingError, UnknownKeywayError
from keylike.keys.bittings import validate_bitting
from keylike.keys.specs import KeywaySpec, get_spec

INSTRUCTION = (
    "Identify this house key. Answer in exactly three lines: KEYWAY: <keyway code>, "
    "BITTING: <cut depth codes from bow to tip, comma-separated>, BRAND: <brand>."
)
"""The fixed prompt: it names the format, never a label (the prototype leaked labels into its prompt)."""

NO_KEY = "NONE"
"""The keyway code of a photo with no key in it (its label has no bitting and no brand)."""
NO_KEY_ANSWER = "NO KEY"
"""What the model answers for a photo with no key in it."""
MAX_ANSWER_TOKENS = 32
"""Longest answer generated, in tokens: a full answer is about 20 with Gemma's tokenizer."""

_ANSWER_RE = re.compile(r"KEYWAY: (?P<keyway>[A-Z0-9]+)\nBITTING: (?P<bitting>\d(?:,\d)*)\nBRAND: (?P<brand>[A-Za-z ]+)")

FIELDS = ("keyway", "bitting", "brand")
"""The answer's fields, in answer order."""

_LINE_RE = re.compile(r"^[ \t]*(KEYWAY|BITTING|BRAND)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*$", re.MULTILINE)
_BITTING_RE = re.compile(r"\d(?:[ \t]*,[ \t]*\d)*")


@dataclass(frozen=True)
class KeyLabel:
    """What keylike reads from a key: keyway, bitting (in the keyway's bitting order) and brand."""

    keyway: str
    bitting: tuple[int, ...]
    brand: str

    @classmethod
    def no_key(cls) -> KeyLabel:
        """The label of a photo with no key in it."""
        return cls(NO_KEY, (), "")

    @property
    def is_no_key(self) -> bool:
        """True for the label of a photo with no key in it."""
        return self.keyway == NO_KEY


def format_answer(label: KeyLabel) -> str:
    """The training target, e.g. `KEYWAY: SC1\\nBITTING: 1,2,5,3,7\\nBRAND: Schlage`, or `NO KEY`."""
    if label.is_no_key:
        return NO_KEY_ANSWER
    return f"KEYWAY: {label.keyway}\nBITTING: {','.join(map(str, label.bitting))}\nBRAND: {label.brand}"


def parse_answer(text: str) -> KeyLabel:
    """Parse an answer strictly: `NO KEY`, or exactly the three lines, a known keyway, its brand, a cuttable bitting."""
    stripped = text.strip()
    if stripped == NO_KEY_ANSWER:
        return KeyLabel.no_key()
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


def is_answer_prefix(text: str) -> bool:
    """True when `text` can still grow into an answer `parse_answer` accepts (a known keyway, its brand,
    depths in range, MACS respected, the keyway's number of cuts); the answer grammar of decoding."""
    if NO_KEY_ANSWER.startswith(text):
        return True
    head = "KEYWAY: "
    if len(text) <= len(head):
        return head.startswith(text)
    if not text.startswith(head):
        return False
    code, newline, rest = text[len(head):].partition("\n")
    if not newline:
        return any(known.startswith(code) for known in _codes())
    if code not in _codes():
        return False
    spec = get_spec(code)
    head = "BITTING: "
    if len(rest) <= len(head):
        return head.startswith(rest)
    if not rest.startswith(head):
        return False
    bitting, newline, brand = rest[len(head):].partition("\n")
    if not _bitting_prefix_valid(spec, bitting, complete=bool(newline)):
        return False
    return not newline or f"BRAND: {spec.brand}".startswith(brand)


def is_complete_answer(text: str) -> bool:
    """True when `text` is a whole answer `parse_answer` accepts."""
    try:
        parse_answer(text)
    except AnswerParseError:
        return False
    return text == text.strip()


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


def _codes() -> tuple[str, ...]:
    from keylike.keys.specs import keyway_codes

    return tuple(keyway_codes())


def _bitting_prefix_valid(spec: KeywaySpec, bitting: str, complete: bool) -> bool:
    """The comma-separated depths so far: single digits in range, MACS kept, no more cuts than the keyway has."""
    if not re.fullmatch(r"(\d,)*\d?", bitting):
        return False
    depths = [int(d) for d in bitting.split(",") if d]
    if complete and (bitting.endswith(",") or len(depths) != spec.cuts):
        return False
    if len(depths) > spec.cuts or (bitting.endswith(",") and len(depths) >= spec.cuts):
        return False
    if any(d < spec.min_depth or d > spec.max_depth for d in depths):
        return False
    return all(abs(a - b) <= spec.macs for a, b in zip(depths, depths[1:]))
