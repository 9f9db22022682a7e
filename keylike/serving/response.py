"""The JSON answer the web app reads, built from the model's answer text and confidence.

Field contract (names kept from the prototype): `success, keyway, bitting, brand, confidence,
estimatedAnnualProduction, manufacturingComplexity, marketPenetration, timeInMarket`; keylike adds
`bittingCuts` (the depth codes as a list), `bittingOrder`, `keyedAlikeRisk` {score, level, factors},
`risk` (every number of keylike.risk), `sources` (where each market figure and weight comes from)
and `answer` (the model's raw text). An answer that does not parse gives `success: false` with
the raw answer and the reason, and null in every key field: keylike never makes up a bitting.
"""

from __future__ import annotations

from typing import Any

from keylike.errors import AnswerParseError
from keylike.keys import get_spec, parse_answer
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


def unparsed_response(answer: str, confidence: float, reason: str) -> dict[str, Any]:
    """`success: false` with the raw answer and why it did not parse; every key field null."""
    body: dict[str, Any] = dict.fromkeys(CONTRACT_FIELDS)
    body.update(
        success=False,
        confidence=confidence,
        error="answer_unparseable",
        message=f"the model's answer does not parse: {reason}",
        answer=answer,
        bittingCuts=None,
        bittingOrder=None,
        keyedAlikeRisk=None,
        risk=None,
        sources=[],
    )
    return body


def analyze_answer(answer: str, confidence: float) -> dict[str, Any]:
    """The web app's JSON for one model answer (see the module docstring)."""
    try:
        label = parse_answer(answer)
    except AnswerParseError as exc:
        return unparsed_response(answer, confidence, exc.reason)
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
