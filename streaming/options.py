"""Per-stream options, declared once: each field of ``StreamConfig`` is one ``option(...)`` entry
(name and type from the field; default, range, choices and help from the entry).

Everything else is derived from ``stream_options()``: ``StreamConfig``'s validation, the server's
settings and env vars (``VQSEG_<NAME>``), REST query and JSON parameters, WebSocket control messages,
the ``serve`` and ``eval`` flags (``add_option_flags``), ``/v1/model`` and the docs table
(``options_markdown``). Adding an option is one entry in ``StreamConfig`` plus its use in the engine.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import functools
import math
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


@dataclass(frozen=True)
class StreamOption:
    """One per-stream option: ``kind`` is float, int, bool, str or an enum; ``low``/``high`` bound
    numbers (``low_open``: strictly above ``low``); ``optional``: None is allowed (and the default)."""

    name: str
    kind: type
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "VQSEG_" + self.name.upper()

    def parse(self, value: Any) -> Any:
        """``value`` (JSON, a query string's text or a CLI word) as this option's type; ValueError if not."""
        if value is None and self.optional:
            return None
        kind, text = self.kind, value.strip().lower() if isinstance(value, str) else None
        if kind is bool:
            if isinstance(value, bool):
                return value
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise ValueError(f"{self.name} must be true or false")
        if isinstance(value, bool):
            raise ValueError(f"{self.name} must be {self.type_text}")
        if issubclass(kind, enum.Enum) or kind is str:
            word = text if text is not None else str(value)
            if self.choices and word not in self.choices:
                raise ValueError(f"unknown {self.name} {value!r}; choose one of: {', '.join(self.choices)}")
            return kind(word)
        try:
            number = float(value) if kind is float else _integer(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name} must be {self.type_text}, got {value!r}") from None
        self.check(number)
        return number

    def check(self, value: Any) -> None:
        """Raise ValueError when ``value`` is outside this option's range or choices."""
        if value is None and self.optional:
            return
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{self.name} must be true or false, got {value!r}")
            return
        if self.choices:
            if str(value.value if isinstance(value, enum.Enum) else value) not in self.choices:
                raise ValueError(f"{self.name} must be one of: {', '.join(self.choices)}; got {value!r}")
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ValueError(f"{self.name} must be {self.type_text}, got {value!r}")
        if self.kind is int and not float(value).is_integer():
            raise ValueError(f"{self.name} must be an integer, got {value!r}")
        low_ok = self.low is None or (value > self.low if self.low_open else value >= self.low)
        if not low_ok or (self.high is not None and value > self.high):
            raise ValueError(f"{self.name} must be {self.range_text}, got {value!r}")

    @property
    def type_text(self) -> str:
        return {bool: "true or false", int: "an integer", float: "a number"}.get(self.kind, "a word")

    @property
    def range_text(self) -> str:
        """``0..64``, ``> 0, ≤ 3600``, ``dnn | bnn``, ``true | false``, ... (docs and messages)."""
        if self.choices:
            return " | ".join(self.choices)
        if self.kind is bool:
            return "true | false"
        if self.low is not None and not self.low_open and self.high is not None:
            return f"{self.kind.__name__} {_num(self.low)}..{_num(self.high)}"
        parts = [] if self.low is None else [f"{'>' if self.low_open else '≥'} {_num(self.low)}"]
        parts += [] if self.high is None else [f"≤ {_num(self.high)}"]
        return f"{self.kind.__name__} {', '.join(parts)}".strip()

    @property
    def default_text(self) -> str:
        default = self.default.value if isinstance(self.default, enum.Enum) else self.default
        if default is None or isinstance(default, bool):
            return str(default).lower()
        return f"{default:.4g}" if isinstance(default, float) else str(default)

    def describe(self) -> dict[str, Any]:
        """This option as JSON (``/v1/model``)."""
        default = self.default.value if isinstance(self.default, enum.Enum) else self.default
        return {"name": self.name, "type": self.type_text, "range": self.range_text, "default": default,
                "help": self.help}


def option(
    default: Any, help: str, *, low: float | None = None, high: float | None = None, low_open: bool = False,
    choices: Sequence[str] = (),
) -> Any:
    """A ``StreamConfig`` field that is a per-stream option (see the module docstring)."""
    spec = {"help": help, "low": low, "high": high, "low_open": low_open, "choices": tuple(choices)}
    return dataclasses.field(default=default, metadata={"option": spec})


@functools.cache
def options_of(config_type: type) -> tuple[StreamOption, ...]:
    """The options a dataclass declares with ``option(...)``, in field order."""
    hints = typing.get_type_hints(config_type)
    out = []
    for f in dataclasses.fields(config_type):
        spec = f.metadata.get("option")
        if spec is None:
            continue
        kind, optional = _unwrap(hints[f.name])
        out.append(StreamOption(f.name, kind, f.default, optional=optional, **spec))
    return tuple(out)


def validate_options(config: Any) -> None:
    """Check every option field of a frozen dataclass ``config`` (``StreamConfig.__post_init__``); an
    enum option given as its text becomes the enum member."""
    for spec in options_of(type(config)):
        value = getattr(config, spec.name)
        if issubclass(spec.kind, enum.Enum) and isinstance(value, str) and not isinstance(value, spec.kind):
            value = spec.parse(value)
            object.__setattr__(config, spec.name, value)
        spec.check(value)


def parse_options(options: Iterable[StreamOption], values: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values of the options named in ``values`` (None values skipped); ValueError on a bad one."""
    by_name = {o.name: o for o in options}
    return {name: by_name[name].parse(value) for name, value in values.items() if value is not None}


def add_option_flags(
    parser: argparse.ArgumentParser, options: Iterable[StreamOption], notes: Mapping[str, str] | None = None
) -> None:
    """One flag per option (``--max-gap``...), default None (the option's default applies); the value
    is checked where the command builds its ``StreamConfig`` (so it reports it its own way); ``notes``
    add a command's own remark to a flag's help."""
    for o in options:
        note = f"; {notes[o.name]}" if notes and o.name in notes else ""
        text = f"{o.help} ({o.range_text}; default {o.default_text}){note}"
        if o.kind is bool:
            parser.add_argument(o.flag, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            kind = o.kind if o.kind in (int, float) else str  # ranges and choices: checked by StreamConfig
            parser.add_argument(o.flag, type=kind, default=None, metavar=o.name.upper(), help=text)


def options_markdown(options: Iterable[StreamOption], eval_flags: Iterable[str]) -> str:
    """The docs table of the options (docs/server.md); a test keeps the docs equal to it."""
    in_eval = set(eval_flags)
    rows = ["| option | type, range | default | env (`serve` default) | `serve` flag | `eval` flag | meaning |",
            "|---|---|---|---|---|---|---|"]
    for o in options:
        shown = o.default_text
        flag, span = f"`{o.flag}`", o.range_text.replace("|", "\\|")
        rows.append(f"| `{o.name}` | {span} | `{shown}` | `{o.env}` | {flag} | {flag if o.name in in_eval else ''} | "
                    f"{o.help} |")
    return "\n".join(rows) + "\n"


def _integer(value: Any) -> int:
    number = float(value)
    if not number.is_integer():
        raise ValueError("not an integer")
    return int(number)


def _num(value: float) -> str:
    return f"{value:g}" if value < 1e6 else f"2^{round(math.log2(value + 1))}-1"


def _unwrap(hint: Any) -> tuple[type, bool]:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if args and len(args) < len(typing.get_args(hint)):
        return args[0], True
    return hint, False
