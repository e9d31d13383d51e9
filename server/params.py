"""Checking the per-stream parameters clients send (query strings, JSON bodies, control messages)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from server.errors import InvalidParameters
from streaming import MAP_NAMES, Mode, StreamConfig, stream_options
from streaming.options import parse_options

STATELESS_MODES = (Mode.DNN, Mode.BNN)
FORMATS = ("json", "png", "binary")
PROTOCOLS = (1, 2)
RESULT_SIZES = ("network", "frame")
BINARY_MAP_DTYPES = ("float16", "uint8")


def config_fields() -> tuple[str, ...]:
    """The names a client may change: the per-stream options (``streaming.stream_options``)."""
    return tuple(o.name for o in stream_options())


def config_changes(base: StreamConfig, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated changes to ``base`` from ``values`` (None values are ignored; unknown names are 422)."""
    known = config_fields()
    try:
        unknown = [name for name, value in values.items() if name not in known and value is not None]
        if unknown:
            raise ValueError(f"unknown parameter {unknown[0]!r}; known: {', '.join(known)}")
        changes = parse_options(stream_options(), values)
        dataclasses.replace(base, **changes)
    except (ValueError, TypeError) as exc:
        raise InvalidParameters(str(exc)) from None
    return changes


def query_options(query: Mapping[str, str], own: Iterable[str]) -> dict[str, str]:
    """The per-stream options in a query string; a name that is neither an option nor one of the
    route's ``own`` parameters (nor the API ``key``) is 422."""
    known = set(config_fields())
    allowed = known | set(own) | {"key"}
    unknown = sorted(name for name in query if name not in allowed)
    if unknown:
        raise InvalidParameters(f"unknown parameter {unknown[0]!r}; known: {', '.join(sorted(allowed))}")
    return {name: query[name] for name in query if name in known}


def option_parameters() -> list[dict[str, Any]]:
    """The per-stream options as OpenAPI query parameters (the routes read them from the query)."""
    kinds = {bool: "boolean", int: "integer", float: "number"}
    return [
        {"name": o.name, "in": "query", "required": False, "description": f"{o.help} ({o.range_text})",
         "schema": {"type": kinds.get(o.kind, "string")}}
        for o in stream_options()
    ]


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


def options_info() -> list[dict[str, Any]]:
    """Every per-stream option with its type, range, default and help (``GET /v1/model``)."""
    return [o.describe() for o in stream_options()]


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
