"""The answer format: the fixed prompt carries no label, format and parse round-trip, the parser is strict,
and the field-by-field reader reads malformed answers."""

import pytest

from keylike.errors import AnswerParseError
from keylike.keys import INSTRUCTION, KeyLabel, brands, format_answer, keyway_codes, parse_answer, parse_fields


def test_format_answer() -> None:
    answer = format_answer(KeyLabel("SC1", (1, 2, 5, 3, 7), "Schlage"))
    assert answer == "KEYWAY: SC1\nBITTING: 1,2,5,3,7\nBRAND: Schlage"


def test_round_trip_with_surrounding_whitespace() -> None:
    label = KeyLabel("M1", (0, 7, 0, 7), "Master Lock")
    assert parse_answer("\n " + format_answer(label) + "\n") == label


def test_instruction_names_no_label() -> None:
    for word in keyway_codes() + brands():
        assert word not in INSTRUCTION


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("KEYWAY: SC1\nBITTING: 1,2,5,3,7", "expected exactly"),
        ("KEYWAY: SC1\nBITTING: 1, 2,5,3,7\nBRAND: Schlage", "expected exactly"),
        ("keyway: SC1\nBITTING: 1,2,5,3,7\nBRAND: Schlage", "expected exactly"),
        ("KEYWAY: SC1\nBITTING: 1,2,5,3,7\nBRAND: Schlage\nCONFIDENCE: 0.9", "expected exactly"),
        ("KEYWAY: ZZ9\nBITTING: 1,2,5,3,7\nBRAND: Schlage", "unknown keyway 'ZZ9'"),
        ("KEYWAY: SC1\nBITTING: 1,2,5,3\nBRAND: Schlage", "has 4 cuts, SC1 has 5"),
        ("KEYWAY: SC1\nBITTING: 0,9,5,3,7\nBRAND: Schlage", "cuts 1-2 differ by 9, over the MACS of 7"),
        ("KEYWAY: SC1\nBITTING: 1,2,5,3,7\nBRAND: Kwikset", "brand 'Kwikset' does not make keyway SC1 (Schlage)"),
    ],
)
def test_parse_answer_is_strict(text: str, reason: str) -> None:
    with pytest.raises(AnswerParseError) as info:
        parse_answer(text)
    assert reason in info.value.reason


def test_no_key_answer_round_trips() -> None:
    label = KeyLabel.no_key()
    assert label.is_no_key and format_answer(label) == "NO KEY"
    assert parse_answer(" NO KEY\n") == label
    with pytest.raises(AnswerParseError):
        parse_answer("NO KEY\nKEYWAY: SC1")


GOOD = "KEYWAY: SC1\nBITTING: 1,2,5,3,7\nBRAND: Schlage"


def test_well_formed_answer_is_compliant_with_value_spans():
    answer = parse_fields(GOOD)
    assert answer.compliant and answer.error is None
    assert answer.label == KeyLabel("SC1", (1, 2, 5, 3, 7), "Schlage")
    assert (answer.keyway, answer.bitting, answer.brand) == ("SC1", (1, 2, 5, 3, 7), "Schlage")
    assert {name: GOOD[s:e] for name, (s, e) in answer.spans.items()} == {
        "keyway": "SC1",
        "bitting": "1,2,5,3,7",
        "brand": "Schlage",
    }


def test_surrounding_whitespace_is_allowed():
    assert parse_fields(f"\n  {GOOD}\n").compliant


@pytest.mark.parametrize(
    ("text", "fields", "reason"),
    [
        # reordered lines: every field readable, the format is not
        ("BRAND: Schlage\nKEYWAY: SC1\nBITTING: 1,2,5,3,7", ("SC1", (1, 2, 5, 3, 7), "Schlage"), "expected exactly"),
        # extra text before and after
        (f"Sure! Here is the key.\n{GOOD}\nHope this helps.", ("SC1", (1, 2, 5, 3, 7), "Schlage"), "expected exactly"),
        # partial: cut off in the bitting
        ("KEYWAY: SC1\nBITTING: 1,2,", ("SC1", None, None), "expected exactly"),
        # malformed: no field lines at all
        ("keyway sc1 bitting 12537 schlage", (None, None, None), "expected exactly"),
        # spaces in the bitting: readable, not the format
        ("KEYWAY: SC1\nBITTING: 1, 2, 5, 3, 7\nBRAND: Schlage", ("SC1", (1, 2, 5, 3, 7), "Schlage"), "expected exactly"),
        # a field twice is ambiguous, so it is not read
        ("KEYWAY: SC1\nKEYWAY: KW1\nBITTING: 1,2,5,3,7\nBRAND: Schlage", (None, (1, 2, 5, 3, 7), "Schlage"), "expected"),
        # unknown keyway
        ("KEYWAY: XX9\nBITTING: 1,2,5,3,7\nBRAND: Schlage", ("XX9", (1, 2, 5, 3, 7), "Schlage"), "unknown keyway 'XX9'"),
        # a bitting that does not fit the predicted keyway: depth 0 is below Kwikset's range
        ("KEYWAY: KW1\nBITTING: 0,2,5,3,7\nBRAND: Kwikset", ("KW1", (0, 2, 5, 3, 7), "Kwikset"), "below spec min 1"),
        # wrong length for the predicted keyway (SC4 has 6 cuts)
        ("KEYWAY: SC4\nBITTING: 1,2,5,3,7\nBRAND: Schlage", ("SC4", (1, 2, 5, 3, 7), "Schlage"), "has 5 cuts, SC4 has 6"),
        # MACS violation on SC1 (MACS 7)
        ("KEYWAY: SC1\nBITTING: 0,9,0,9,0\nBRAND: Schlage", ("SC1", (0, 9, 0, 9, 0), "Schlage"), "over the MACS of 7"),
        # a brand that does not make the keyway
        ("KEYWAY: SC1\nBITTING: 1,2,5,3,7\nBRAND: Kwikset", ("SC1", (1, 2, 5, 3, 7), "Kwikset"), "does not make keyway"),
        # a bitting that is not a list of single digits
        ("KEYWAY: SC1\nBITTING: 12,5,3\nBRAND: Schlage", ("SC1", None, "Schlage"), "expected exactly"),
    ],
)
def test_non_compliant_answers_keep_their_readable_fields(text, fields, reason):
    answer = parse_fields(text)
    assert not answer.compliant and answer.label is None
    assert (answer.keyway, answer.bitting, answer.brand) == fields
    assert reason in answer.error
    assert set(answer.spans) == {n for n, v in zip(("keyway", "bitting", "brand"), fields) if v is not None}


def test_wrong_keyway_can_still_be_compliant():
    """A cuttable answer for the wrong key is compliant: compliance is not correctness."""
    answer = parse_fields("KEYWAY: KW1\nBITTING: 1,2,5,3,7\nBRAND: Kwikset")
    assert answer.compliant and answer.label == KeyLabel("KW1", (1, 2, 5, 3, 7), "Kwikset")


def test_no_key_answer_reads_as_keyway_none() -> None:
    from keylike.keys import NO_KEY

    answer = parse_fields("NO KEY")
    assert answer.compliant and answer.keyway == NO_KEY and answer.bitting == () and answer.brand == ""
    assert answer.spans == {"keyway": (0, 6)}
