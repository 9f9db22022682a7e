"""The answer format: the fixed prompt carries no label, format and parse round-trip, the parser is strict."""

import pytest

from keylike.errors import AnswerParseError
from keylike.keys import INSTRUCTION, KeyLabel, brands, format_answer, keyway_codes, parse_answer


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
