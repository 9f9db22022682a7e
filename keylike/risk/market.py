"""Production and market figures per brand and keyway, read from the sourced table data/market.json."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from keylike.keys import get_spec


@dataclass(frozen=True)
class Figure:
    """One value of the table with where it comes from."""

    name: str
    """The response field (or risk weight) this value fills, e.g. `estimatedAnnualProduction`."""
    value: Any
    estimate: bool
    """True when no source gives this value: `basis` says how it was chosen."""
    basis: str
    source: str | None = None
    """Key of the table's `sources`, or None for an estimate."""
    citation: str | None = None
    """The full citation behind `source`."""
    unit: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry of a response's `sources` list."""
        return {
            "field": self.name,
            "value": self.value,
            "unit": self.unit,
            "estimate": self.estimate,
            "basis": self.basis,
            "source": self.source,
            "citation": self.citation,
        }


@dataclass(frozen=True)
class MarketFacts:
    """The four market fields of a response for one keyway, each with its Figure."""

    estimated_annual_production: Figure
    market_penetration: Figure
    time_in_market: Figure
    manufacturing_complexity: Figure

    @property
    def figures(self) -> tuple[Figure, ...]:
        """All four figures, in response order."""
        return (
            self.estimated_annual_production,
            self.manufacturing_complexity,
            self.market_penetration,
            self.time_in_market,
        )


@functools.cache
def load_market_table() -> dict[str, Any]:
    """The raw table (package data keylike/risk/data/market.json)."""
    return json.loads(resources.files("keylike.risk").joinpath("data/market.json").read_text())


def _figure(name: str, entry: dict[str, Any], value: Any = None) -> Figure:
    table = load_market_table()
    source = entry.get("source")
    return Figure(
        name=name,
        value=entry["value"] if value is None else value,
        estimate=bool(entry["estimate"]),
        basis=entry["basis"],
        source=source,
        citation=table["sources"][source] if source else None,
        unit=entry.get("unit"),
    )


def market_facts(keyway: str) -> MarketFacts:
    """The market fields for `keyway` (its brand's figures plus the keyway's complexity)."""
    table = load_market_table()
    spec = get_spec(keyway)
    brand = table["brands"][spec.brand]
    since = brand["since"]
    years = table["reference_year"] - since["value"]
    time_basis = f"{table['reference_year']} - {since['value']} (in market since); {since['basis']}"
    return MarketFacts(
        estimated_annual_production=_figure("estimatedAnnualProduction", brand["annual_production"]),
        market_penetration=_figure("marketPenetration", brand["market_penetration"]),
        time_in_market=_figure("timeInMarket", {**since, "basis": time_basis, "unit": "years"}, years),
        manufacturing_complexity=_figure(
            "manufacturingComplexity", table["keyways"][keyway]["manufacturing_complexity"]
        ),
    )


def residential_depth_codes(keyway: str) -> Figure | None:
    """The depth codes used on residential change keys of `keyway`, when the table narrows them."""
    entry = load_market_table()["keyways"][keyway].get("residential_depth_codes")
    return None if entry is None else _figure("residentialDepthCodes", entry)


def risk_weight(name: str) -> Figure:
    """One of the score's weights (`pattern_multipliers`, `near_miss_weight`, `small_step_max_in`)."""
    return _figure(name, load_market_table()["risk_weights"][name])
