"""Keyway spec tables (package data copied from public manufacturer specs, each with its sources)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

from keylike.errors import UnknownKeywayError


@dataclass(frozen=True)
class KeywaySpec:
    """One keyway's cut geometry and depth table, in inches."""

    code: str
    """Keyway code as written on blanks and in answers, e.g. `SC1`."""
    brand: str
    system: str
    """Id of the source spec table (one system can have a 5- and a 6-cut keyway)."""
    cuts: int
    first_cut_in: float
    spacing_in: float
    reference: str
    """Where cut positions are measured from: `shoulder`, or `tip` (Best SFIC)."""
    bitting_order: str
    """`bow_to_tip` or `tip_to_bow`: the order in which the bitting lists the cuts."""
    depth_codes: tuple[int, ...]
    root_depths_in: dict[int, float]
    step_in: float
    macs: int
    cutter_angle_deg: float
    root_flat_in: float
    blade_height_in: float
    sources: tuple[str, ...]
    estimates: tuple[str, ...]
    """Fields whose value is an estimate rather than a published figure, with why."""

    @property
    def min_depth(self) -> int:
        """Shallowest depth code."""
        return self.depth_codes[0]

    @property
    def max_depth(self) -> int:
        """Deepest depth code."""
        return self.depth_codes[-1]

    def cut_positions_in(self) -> list[float]:
        """Distance of each cut centre from the reference (shoulder or tip), in bitting order."""
        return [self.first_cut_in + i * self.spacing_in for i in range(self.cuts)]


@functools.cache
def _raw_table() -> dict:
    return json.loads(resources.files("keylike.keys").joinpath("data/keyways.json").read_text())


@functools.cache
def load_specs() -> dict[str, KeywaySpec]:
    """All keyways in the package's spec table, by code."""
    specs = {}
    for code, e in _raw_table()["keyways"].items():
        specs[code] = KeywaySpec(
            code=code,
            brand=e["brand"],
            system=e["system"],
            cuts=e["cuts"],
            first_cut_in=e["first_cut_in"],
            spacing_in=e["spacing_in"],
            reference=e["reference"],
            bitting_order=e["bitting_order"],
            depth_codes=tuple(e["depth_codes"]),
            root_depths_in={int(k): v for k, v in e["root_depths_in"].items()},
            step_in=e["step_in"],
            macs=e["macs"],
            cutter_angle_deg=e["cutter_angle_deg"],
            root_flat_in=e["root_flat_in"],
            blade_height_in=e["blade_height_in"],
            sources=tuple(e["sources"]),
            estimates=tuple(e["estimates"]),
        )
    return specs


def source_descriptions() -> dict[str, str]:
    """The citation behind each short source name used in the spec table."""
    return dict(_raw_table()["sources"])


def keyway_codes() -> list[str]:
    """Every known keyway code, in table order."""
    return list(load_specs())


def get_spec(code: str) -> KeywaySpec:
    """The spec of keyway `code`; an unknown code raises UnknownKeywayError listing the known ones."""
    specs = load_specs()
    if code not in specs:
        raise UnknownKeywayError(code, list(specs))
    return specs[code]


def brands() -> list[str]:
    """Every brand in the spec table, in table order, once each."""
    return list(dict.fromkeys(s.brand for s in load_specs().values()))
