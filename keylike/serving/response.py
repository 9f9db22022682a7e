"""The JSON answer the web app reads, built from the model's answer text and confidence.

Field contract (names kept from the prototype): `success, keyway, bitting, brand, confidence,
estimatedAnnualProduction, manufacturingComplexity, marketPenetration, timeInMarket`; keylike adds
`bittingCuts` (the depth codes as a list), `bittingOrder`, `keyedAlikeRisk` {score, level, factors},
`risk` (every number of keylike.risk), `sources` (where each market figure and weight comes from)
and `answer` (the model's raw text). Answers that are not a reading give `success: false` with an
`error` code, a `message`, the raw answer, and null in every key field keylike could not stand behind:
- `no_key`: the model sees no key in the photo;
- `low_confidence`: a reading below the model's calibrated threshold; the reading is kept, whole, in
  `bestGuess` (keylike.evaluation.threshold);
- `invalid_bitting`: keyway and brand parse (and are kept) but the bitting cannot be cut on that keyway;
- `answer_unparseable`: anything else. keylike never makes up a bitting.
"""

from __future__ import annotations

from typing import Any

from keylike.evaluation.parsing import parse_fields
from keylike.keys import KeyLabel, get_spec, keyway_codes
from keylike.risk import Figure, assess_risk, market_facts

CONTRACT_FIELDS = (
    "success",
    "keyway",
    "bitting",
    "brand",
    "confidence",
    "estimatedAnnualProduction",
    "manufacturingComplexity",
    "marketPenetration",
    "timeInMarket",
)
"""The prototype's field names, which the web app reads."""


def _spec_figure(keyway: str) -> Figure:
    spec = get_spec(keyway)
    return Figure(
        name="keywaySpec",
        value=keyway,
        estimate=bool(spec.estimates),
        basis="cuts, depth codes, depth step and MACS of the keyway"
        + (f"; estimated: {'; '.join(spec.estimates)}" if spec.estimates else ""),
        source="keyways_json",
        citation="; ".join(spec.sources),
    )


def refusal(answer: str, confidence: float, error: str, message: str) -> dict[str, Any]:
    """`success: false` with the raw answer, an error code and a message; every key field null."""
    body: dict[str, Any] = dict.fromkeys(CONTRACT_FIELDS)
    body.update(
        success=False,
        confidence=confidence,
        error=error,
        message=message,
        answer=answer,
        bittingCuts=None,
        bittingOrder=None,
        keyedAlikeRisk=None,
        risk=None,
        sources=[],
    )
    return body


def analyze_answer(answer: str, confidence: float, min_confidence: float = 0.0) -> dict[str, Any]:
    """The web app's JSON for one model answer, given the model's threshold (see the module docstring)."""
    parsed = parse_fields(answer)
    label = parsed.label
    if label is None:
        return _unparsed(answer, confidence, parsed.keyway, parsed.brand, parsed.error or "")
    if label.is_no_key:
        return refusal(answer, confidence, "no_key", "no key was found in the photo; photograph one key, flat, filling the frame")
    reading = _reading(label, answer, confidence)
    if confidence < min_confidence:
        body = refusal(answer, confidence, "low_confidence",
                       f"the model is unsure (confidence {confidence:.3g} below its threshold {min_confidence:.3g}); "
                       "the best guess is in bestGuess: retake the photo, flat and sharp, filling the frame")
        body["bestGuess"] = reading
        return body
    return reading


def _unparsed(answer: str, confidence: float, keyway: str | None, brand: str | None, reason: str) -> dict[str, Any]:
    """A refusal that keeps the keyway and brand when they parse and belong together (a bad bitting)."""
    if keyway in keyway_codes() and brand == get_spec(keyway).brand:
        body = refusal(answer, confidence, "invalid_bitting",
                       f"the keyway and brand were read but the bitting cannot be cut on {keyway}: {reason}")
        body.update(keyway=keyway, brand=brand, bittingOrder=get_spec(keyway).bitting_order)
        return body
    return refusal(answer, confidence, "answer_unparseable", f"the model's answer does not parse: {reason}")


def _reading(label: KeyLabel, answer: str, confidence: float) -> dict[str, Any]:
    """The full JSON of a reading: key fields, market facts, keyed-alike risk and their sources."""
    risk = assess_risk(label.keyway, label.bitting)
    facts = market_facts(label.keyway)
    figures = (_spec_figure(label.keyway), *facts.figures, *risk.weights)
    return {
        "success": True,
        "keyway": label.keyway,
        "bitting": ",".join(map(str, label.bitting)),
        "bittingCuts": list(label.bitting),
        "bittingOrder": get_spec(label.keyway).bitting_order,
        "brand": label.brand,
        "confidence": confidence,
        "estimatedAnnualProduction": facts.estimated_annual_production.value,
        "manufacturingComplexity": facts.manufacturing_complexity.value,
        "marketPenetration": facts.market_penetration.value,
        "timeInMarket": facts.time_in_market.value,
        "keyedAlikeRisk": risk.keyed_alike_risk(),
        "risk": risk.to_json(),
        "sources": [f.to_json() for f in figures],
        "answer": answer,
    }
