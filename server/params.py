"""Checking the per-stream parameters clients send (query strings, JSON bodies, control messages)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from server.errors import InvalidParameters
from streaming import MAP_NAMES, Mode, StreamConfig, parse_mode

STATELESS_MODES = (Mode.DNN, Mode.BNN)
FORMATS = ("json", "png", "binary")
PROTOCOLS = (1, 2)
RESULT_SIZES = ("network", "frame")
BINARY_MAP_DTYPES = ("float16", "uint8")


def config_fields() -> tuple[str, ...]:
    """The names a client may change: every field of ``StreamConfig``."""
    return tuple(f.name for f in dataclasses.fields(StreamConfig))


def _coerce(name: str, value: Any) -> Any:
    if name == "mode":
        return parse_mode(str(value))
    if name in ("window", "samples", "seed"):
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"{name} must be an integer")
        return int(value)
    if name in ("tau", "max_gap", "spatial_sigma"):
        if isinstance(value, bool):
            raise ValueError(f"{name} must be a number")
        return float(value)
    if name == "motion":
        if isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError("motion must be true or false")
            return value.lower() in ("true", "1")
        return bool(value)
    return value


def config_changes(base: StreamConfig, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated changes to ``base`` from ``values`` (None values are ignored; unknown names are 422)."""
    known = config_fields()
    changes: dict[str, Any] = {}
    try:
        for name, value in values.items():
            if value is None:
                continue
            if name not in known:
                raise ValueError(f"unknown parameter {name!r}; known: {', '.join(known)}")
            changes[name] = _coerce(name, value)
        dataclasses.replace(base, **changes)
    except (ValueError, TypeError) as exc:
        raise InvalidParameters(str(exc)) from None
    return changes


def parse_maps(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Extra map names from ``"confidence,mutual_info"`` or a list; 422 for unknown names."""
    if value is None:
        return ()
    if not isinstance(value, str | list | tuple):
        raise InvalidParameters("maps must be a comma-separated string or a list of names")
    items = value.split(",") if isinstance(value, str) else list(value)
    names: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidParameters("maps must be names")
        name = item.strip()
        if not name:
            continue
        if name not in MAP_NAMES:
            raise InvalidParameters(f"unknown map {name!r}; choose from: {', '.join(MAP_NAMES)}")
        if name not in names:
            names.append(name)
    return tuple(names)


def parse_format(value: str | None) -> str:
    fmt = (value or "json").lower()
    if fmt not in FORMATS:
        raise InvalidParameters(f"format must be one of: {', '.join(FORMATS)}")
    return fmt


def config_dict(config: StreamConfig) -> dict[str, Any]:
    out = dataclasses.asdict(config)
    out["mode"] = config.mode.value
    return out


@dataclasses.dataclass(frozen=True)
class WireOptions:
    """How a WebSocket client wants its results: ``protocol`` 1 (JSON with PNGs at the frame's size) or
    2 (binary frames; maps at the network's ``size`` or the frame's, as ``map_dtype``)."""

    protocol: int = 1
    size: str = "network"
    map_dtype: str = "float16"


def parse_wire(query: Mapping[str, str]) -> WireOptions:
    """``protocol``, ``size`` and ``map_dtype`` from a WebSocket query string (422 when invalid)."""
    text = query.get("protocol", "1")
    if text not in {str(p) for p in PROTOCOLS}:
        raise InvalidParameters(f"protocol must be one of {', '.join(map(str, PROTOCOLS))}")
    size, dtype = query.get("size", "network"), query.get("map_dtype", "float16")
    if size not in RESULT_SIZES:
        raise InvalidParameters(f"size must be one of: {', '.join(RESULT_SIZES)}")
    if dtype not in BINARY_MAP_DTYPES:
        raise InvalidParameters(f"map_dtype must be one of: {', '.join(BINARY_MAP_DTYPES)}")
    return WireOptions(int(text), size, dtype)
