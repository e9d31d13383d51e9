"""Watch rules: what to measure on a stream's per-frame maps, the threshold, hold time and cool-down.

A rule's value is one number in [0, 1] per frame, computed on the device from the frame's maps
(``server.events.measure``):

- ``uncertain_share``: the share of pixels whose normalised ``map`` (entropy or mutual information)
  is above ``level``;
- ``roi_mean``: the mean of ``map`` inside ``polygon``;
- ``class_uncertain_share``: among the pixels labelled ``class``, the share above ``level``.

``polygon`` (x, y corners in [0, 1] of the frame's width and height) restricts every measure to a
region. The rule fires when its value stays above ``threshold`` for ``hold`` seconds of stream time,
and not within ``cooldown`` seconds of its previous event (``server.events.watch``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

MAX_RULES = 16  # per stream
MAX_WEBHOOKS = 4  # per rule

Measure = Literal["uncertain_share", "roi_mean", "class_uncertain_share"]


class WatchRule(BaseModel):
    """One rule, as set over REST (``PUT /v1/streams/{id}/rules``), WebSocket or ``VQSEG_RULES``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="unique per stream; in topics and events")
    measure: Measure = "uncertain_share"
    map: Literal["entropy", "mutual_info"] = Field("entropy", description="normalised to [0, 1] by log C")
    level: float = Field(0.5, ge=0.0, le=1.0, description="a pixel is uncertain when its map value is above this")
    polygon: tuple[tuple[float, float], ...] | None = Field(
        None, min_length=3, max_length=64, description="region of interest: (x, y) corners in [0, 1]"
    )
    class_name: str | int | None = Field(None, alias="class", description="class_uncertain_share: name or index")
    threshold: float = Field(ge=0.0, le=1.0, description="the event fires when the value is above this")
    hold: float = Field(0.0, ge=0.0, le=3600.0, description="seconds (stream time) above before the event")
    cooldown: float = Field(60.0, ge=0.0, le=86400.0, description="seconds after an event before the next")
    harvest: bool = Field(True, description="save frames above the threshold for labelling (when harvest is on)")
    webhooks: tuple[str, ...] = Field((), max_length=MAX_WEBHOOKS, description="extra URLs POSTed on events")

    @model_validator(mode="after")
    def _consistent(self) -> WatchRule:
        if self.measure == "class_uncertain_share" and self.class_name is None:
            raise ValueError("measure class_uncertain_share needs 'class' (a class name or index)")
        if self.polygon is not None and any(not (0.0 <= v <= 1.0) for p in self.polygon for v in p):
            raise ValueError("polygon corners are (x, y) in [0, 1] of the frame's width and height")
        return self

    def class_index(self, class_names: tuple[str, ...]) -> int | None:
        """The class this rule watches, as an index of ``class_names``; ValueError when unknown."""
        if self.class_name is None:
            return None
        if isinstance(self.class_name, int):
            if not 0 <= self.class_name < len(class_names):
                raise ValueError(f"rule {self.name!r}: class index {self.class_name} out of range")
            return self.class_name
        if self.class_name not in class_names:
            raise ValueError(f"rule {self.name!r}: unknown class {self.class_name!r}; the model has "
                             f"{', '.join(class_names)}")
        return class_names.index(self.class_name)

    def public(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


_RULE_LIST = TypeAdapter(list[WatchRule])


def parse_rules(data: object) -> tuple[WatchRule, ...]:
    """A list of rules from JSON-like data; ValueError (pydantic's) when invalid or names repeat."""
    rules = tuple(_RULE_LIST.validate_python(data))
    check_rule_set(rules)
    return rules


def check_rule_set(rules: tuple[WatchRule, ...]) -> None:
    if len(rules) > MAX_RULES:
        raise ValueError(f"at most {MAX_RULES} rules per stream, got {len(rules)}")
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise ValueError("rule names must be unique per stream")


def rules_from_setting(text: str) -> tuple[WatchRule, ...]:
    """``VQSEG_RULES``: a JSON list of rules, or ``@/path/rules.json``; empty means none."""
    text = text.strip()
    if not text:
        return ()
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    return parse_rules(json.loads(text))
