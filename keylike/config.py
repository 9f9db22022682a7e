"""params.yaml: load it once at the edge and turn each block into a typed, frozen config."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from keylike.errors import ConfigError

C = TypeVar("C")


def load_params(path: Path | str = "params.yaml") -> dict[str, Any]:
    """Read params.yaml; a missing or malformed file raises ConfigError naming the path."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"params file {path} not found; run from the repository root or pass --params")
    try:
        params = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"params file {path} is not valid YAML: {exc}") from exc
    if not isinstance(params, dict):
        raise ConfigError(f"params file {path} must hold a mapping of blocks, got {type(params).__name__}")
    return params


def config_from_block(cls: type[C], params: dict[str, Any], block: str, **extra: Any) -> C:
    """Build dataclass `cls` from `params[block]` (plus `extra`); unknown or missing keys raise ConfigError."""
    if block not in params:
        raise ConfigError(f"params has no `{block}` block")
    values = dict(params[block] or {})
    values.update(extra)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown key(s) in `{block}`: {', '.join(unknown)}; known: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        values[name] = _coerce(f"{block}.{name}", hints[name], value)
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"`{block}`: {exc}") from exc


def base_seed(params: dict[str, Any]) -> int:
    """`base.seed`, the seed every stage shares; a missing block or a non-integer raises ConfigError."""
    base = params.get("base")
    if not isinstance(base, dict) or "seed" not in base:
        raise ConfigError("params has no `base.seed`; add `base: {seed: 3407}` (any integer)")
    return _coerce("base.seed", int, base["seed"])


def _coerce(key: str, hint: Any, value: Any) -> Any:
    """Turn YAML lists into tuples and ints into floats where the field wants them; refuse other shapes."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return value if value is None else _coerce(key, args[0], value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {value!r}; write it as [{value!r}] or in YAML list form")
        item = (typing.get_args(hint) or (Any,))[0]
        return tuple(_coerce(f"{key}[{i}]", item, v) for i, v in enumerate(value)) if item is not Any else tuple(value)
    if origin is dict and not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping (key: value), got {value!r}")
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ConfigError(f"{key} must be {hint.__name__}, got {value!r}")
    return value


def check(condition: bool, key: str, message: str) -> None:
    """Raise ConfigError `key message` unless `condition` holds (for `__post_init__` range checks)."""
    if not condition:
        raise ConfigError(f"{key} {message}")
