"""Keyed-alike risk from a key's specs, and the sourced production/market table behind the risk fields."""

from keylike.risk.market import Figure, MarketFacts, load_market_table, market_facts
from keylike.risk.risk import KeyRisk, assess_risk, near_miss_count, pattern_flags, risk_level

__all__ = [
    "Figure",
    "KeyRisk",
    "MarketFacts",
    "assess_risk",
    "load_market_table",
    "market_facts",
    "near_miss_count",
    "pattern_flags",
    "risk_level",
]
