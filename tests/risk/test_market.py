"""The market table: every value is sourced or marked as an estimate, and fills every keyway."""

import pytest

from keylike.keys import brands, keyway_codes
from keylike.risk import load_market_table, market_facts


def _entries(node):
    """Every {value, estimate, ...} entry in the table."""
    if isinstance(node, dict):
        if "value" in node:
            yield node
        else:
            for child in node.values():
                yield from _entries(child)


def test_every_value_has_a_source_or_is_an_estimate() -> None:
    table = load_market_table()
    entries = list(_entries({k: table[k] for k in ("brands", "keyways", "risk_weights")}))
    assert entries
    for entry in entries:
        assert entry["basis"]
        if entry["estimate"]:
            continue
        assert entry["source"] in table["sources"], entry


def test_every_brand_and_keyway_is_covered() -> None:
    table = load_market_table()
    assert set(brands()) <= set(table["brands"])
    assert set(keyway_codes()) <= set(table["keyways"])


@pytest.mark.parametrize("keyway", keyway_codes())
def test_market_facts_fill_the_contract_fields(keyway: str) -> None:
    facts = market_facts(keyway)
    names = [f.name for f in facts.figures]
    assert names == ["estimatedAnnualProduction", "manufacturingComplexity", "marketPenetration", "timeInMarket"]
    assert facts.estimated_annual_production.value > 0
    assert 0 < facts.manufacturing_complexity.value <= 100
    assert 0 < facts.market_penetration.value <= 1
    assert facts.time_in_market.value > 0


def test_kwikset_figures_by_hand() -> None:
    facts = market_facts("KW1")
    # 150,000 locksets a day x 5 days x 52 weeks = 39,000,000, from a cited source
    assert facts.estimated_annual_production.value == 150_000 * 5 * 52
    assert not facts.estimated_annual_production.estimate
    assert "thefabricator" in facts.estimated_annual_production.citation
    # in market since 1946 (LA Times 1992: "In 46 years"); reference year 2026 -> 80
    assert facts.time_in_market.value == 2026 - 1946
    assert facts.market_penetration.estimate
    assert facts.figures[0].to_json()["field"] == "estimatedAnnualProduction"
