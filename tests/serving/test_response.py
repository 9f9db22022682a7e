"""The JSON of one answer: a reading, and each way of not being one (no key, unsure, bad bitting, unparseable)."""

from keylike.serving import CONTRACT_FIELDS, analyze_answer

READING = "KEYWAY: SC1\nBITTING: 1,2,5,3,7\nBRAND: Schlage"


def test_a_confident_reading_is_presented() -> None:
    body = analyze_answer(READING, 0.9, min_confidence=0.5)
    assert body["success"] is True and body["keyway"] == "SC1" and body["bittingCuts"] == [1, 2, 5, 3, 7]
    assert "error" not in body and "bestGuess" not in body


def test_no_key_is_its_own_refusal() -> None:
    body = analyze_answer("NO KEY", 0.99)
    assert set(CONTRACT_FIELDS) <= set(body)
    assert (body["success"], body["error"]) == (False, "no_key")
    assert body["keyway"] is None and body["bitting"] is None and body["keyedAlikeRisk"] is None


def test_an_unsure_reading_keeps_the_best_guess_apart() -> None:
    body = analyze_answer(READING, 0.3, min_confidence=0.5)
    assert (body["success"], body["error"]) == (False, "low_confidence")
    assert body["keyway"] is None and body["bitting"] is None and body["confidence"] == 0.3
    guess = body["bestGuess"]
    assert guess["success"] is True and guess["keyway"] == "SC1" and guess["bitting"] == "1,2,5,3,7"
    assert "0.3" in body["message"] and "0.5" in body["message"]


def test_a_bitting_over_the_macs_keeps_keyway_and_brand() -> None:
    body = analyze_answer("KEYWAY: SC1\nBITTING: 0,9,5,3,7\nBRAND: Schlage", 0.8)
    assert (body["success"], body["error"]) == (False, "invalid_bitting")
    assert (body["keyway"], body["brand"], body["bittingOrder"]) == ("SC1", "Schlage", "bow_to_tip")
    assert body["bitting"] is None and body["bittingCuts"] is None and "MACS" in body["message"]


def test_a_brand_that_does_not_make_the_keyway_keeps_nothing() -> None:
    body = analyze_answer("KEYWAY: SC1\nBITTING: 1,2,5,3,7\nBRAND: Kwikset", 0.8)
    assert (body["error"], body["keyway"], body["brand"]) == ("answer_unparseable", None, None)


def test_the_market_fields_keep_their_types() -> None:
    body = analyze_answer(READING, 0.9)
    types = {name: type(body[name]) for name in ("estimatedAnnualProduction", "manufacturingComplexity", "timeInMarket")}
    assert types == dict.fromkeys(types, int)
    assert isinstance(body["marketPenetration"], float)
    assert isinstance(analyze_answer(READING, 0.3, min_confidence=0.5)["bestGuess"]["manufacturingComplexity"], int)
