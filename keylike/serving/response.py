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

from pydantic import BaseModel, ConfigDict, Field

from keylike.keys import KeyLabel, get_spec, keyway_codes, parse_fields
from keylike.risk import Figure, assess_risk, load_market_table, market_facts

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


class KeyedAlikeRisk(BaseModel):
    """Score 0-100, level low/medium/high and the inputs of the formula (see keylike.risk.risk)."""

    score: int = Field(description="0-100 (unitless): 25 points per factor of ten in identical-or-near locks per million.")
    level: str = Field(description="`low` below 35, `medium`, `high` from 65.")
    factors: list[dict[str, Any]] = Field(
        description="The score's inputs, each `{name, value, detail}`: `keyspace` (count of bittings), `pattern` "
        "(multiplier, 1 when no over-used pattern), `nearMisses` (count, null for large depth steps), "
        "`identicalPerMillion` (locks per million of the keyway with exactly this bitting)."
    )


class Source(BaseModel):
    """Where one figure of the answer comes from."""

    field: str = Field(description="The answer field or risk weight this figure fills, e.g. `timeInMarket`.")
    value: Any
    unit: str | None = Field(description="The figure's unit, e.g. `locksets per year`; null when unitless.")
    estimate: bool = Field(description="True when no source gives the value; `basis` says how it was chosen.")
    basis: str
    source: str | None = Field(description="Key of the source in keylike's market table; null for an estimate.")
    citation: str | None


class Analysis(BaseModel):
    """The answer for one photo, from `POST /analyze` and `keylike predict` alike.

    On `success: false` the key fields are null and `answer` is the model's raw text.
    """

    model_config = ConfigDict(extra="forbid")

    success: bool = Field(description="True for a reading keylike stands behind; false with `error` and `message`.")
    keyway: str | None = Field(description="Keyway code, e.g. `KW1` (Kwikset), `SC1` (Schlage).")
    bitting: str | None = Field(description="Cut depth codes, comma-separated, in `bittingOrder`, e.g. `2,5,3,4,1`.")
    bittingCuts: list[int] | None = Field(description="The same depth codes as a list of integers.")
    bittingOrder: str | None = Field(description="Which end the first cut is at: `bow_to_tip` or `tip_to_bow`.")
    brand: str | None = Field(description="Lock brand of the keyway, e.g. `Kwikset`.")
    confidence: float = Field(
        description="Probability 0-1 (a fraction, not a percent) that the reading is right: the product of the "
        "model's probabilities of the tokens of keyway, bitting and brand, at the calibrated temperature."
    )
    estimatedAnnualProduction: int | None = Field(
        description="Units of the brand made per year (an integer count; the unit, e.g. `locksets per year`, "
        "and the source are in `sources`)."
    )
    manufacturingComplexity: int | None = Field(
        description=f"An integer, unitless: {load_market_table()['manufacturing_complexity_scale']}"
    )
    marketPenetration: float | None = Field(
        description="Share 0-1 (a fraction, not a percent) of the brand's market, e.g. of U.S. residential "
        "locksets (the market is named in `sources`)."
    )
    timeInMarket: int | None = Field(
        description="Years (an integer) the brand has been on the market, counted to the market table's fixed "
        "reference year (`basis` in `sources`)."
    )
    keyedAlikeRisk: KeyedAlikeRisk | None
    risk: dict[str, Any] | None = Field(description="Every number of the keyed-alike risk formula (keylike.risk.risk).")
    sources: list[Source] = Field(description="Where each market figure and risk weight comes from.")
    answer: str = Field(description="The model's raw answer text.")
    error: str | None = Field(
        None,
        description="Why `success` is false: `no_key` (no key in the photo), `low_confidence` (a reading below the "
        "model's calibrated threshold; it is in `bestGuess`), `invalid_bitting` (keyway and brand were read and are "
        "kept, the bitting cannot be cut on that keyway), `answer_unparseable` (nothing usable).",
    )
    message: str | None = Field(None, description="What happened and what to do, for a person.")
    bestGuess: Analysis | None = Field(
        None, description="With `error: low_confidence`: the reading the model is unsure of, in the shape of a successful answer."
    )


def _shaped(body: dict[str, Any]) -> dict[str, Any]:
    """`body` checked against Analysis and dumped as JSON types: the one shape of `predict` and HTTP
    (`error`, `message` and `bestGuess` only where they apply)."""
    return Analysis.model_validate(body).model_dump(mode="json", exclude_unset=True)


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


def _refusal(answer: str, confidence: float, error: str, message: str) -> dict[str, Any]:
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
    return _shaped(_analysis(answer, confidence, min_confidence))


def _analysis(answer: str, confidence: float, min_confidence: float) -> dict[str, Any]:
    parsed = parse_fields(answer)
    label = parsed.label
    if label is None:
        return _unparsed(answer, confidence, parsed.keyway, parsed.brand, parsed.error or "")
    if label.is_no_key:
        return _refusal(answer, confidence, "no_key", "no key was found in the photo; photograph one key, flat, filling the frame")
    reading = _reading(label, answer, confidence)
    if confidence < min_confidence:
        body = _refusal(answer, confidence, "low_confidence",
                       f"the model is unsure (confidence {confidence:.3g} below its threshold {min_confidence:.3g}); "
                       "the best guess is in bestGuess: retake the photo, flat and sharp, filling the frame")
        body["bestGuess"] = reading
        return body
    return reading


def _unparsed(answer: str, confidence: float, keyway: str | None, brand: str | None, reason: str) -> dict[str, Any]:
    """A refusal that keeps the keyway and brand when they parse and belong together (a bad bitting)."""
    if keyway in keyway_codes() and brand == get_spec(keyway).brand:
        body = _refusal(answer, confidence, "invalid_bitting",
                       f"the keyway and brand were read but the bitting cannot be cut on {keyway}: {reason}")
        body.update(keyway=keyway, brand=brand, bittingOrder=get_spec(keyway).bitting_order)
        return body
    return _refusal(answer, confidence, "answer_unparseable", f"the model's answer does not parse: {reason}")


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
