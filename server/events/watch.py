"""When a rule's value becomes an event: hold time, cool-down, one event per crossing.

Time is the stream's own (frame timestamps, seconds), so hold and cool-down mean the same whether
frames arrive live, from a file or are dropped under load. A crossing is the value going above the
threshold; it raises ``raised`` once it has stayed above for ``hold`` seconds and at least
``cooldown`` seconds have passed since the rule's previous ``raised`` (a crossing inside the
cool-down fires when the cool-down ends if it is still above; one that ends earlier fires nothing).
Going back to or below the threshold after ``raised`` gives ``cleared``. A timestamp earlier than
the previous one (a new clock: the client restarted, a buffer reset) starts the rule afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.events.rules import WatchRule

RAISED = "raised"
CLEARED = "cleared"


@dataclass
class RuleState:
    above_since: float | None = None  # stream time the value went above the threshold
    raised: bool = False
    last_raised: float | None = None
    last_seen: float | None = None
    last_value: float | None = None

    def step(self, rule: WatchRule, value: float, timestamp: float) -> str | None:
        """Feed one frame's value; returns ``raised``, ``cleared`` or None."""
        if self.last_seen is not None and timestamp < self.last_seen:
            self.above_since, self.last_raised = None, None
        self.last_seen, self.last_value = timestamp, value
        if value > rule.threshold:
            if self.above_since is None:
                self.above_since = timestamp
            cooled = self.last_raised is None or timestamp - self.last_raised >= rule.cooldown
            if not self.raised and timestamp - self.above_since >= rule.hold and cooled:
                self.raised, self.last_raised = True, timestamp
                return RAISED
            return None
        self.above_since = None
        if self.raised:
            self.raised = False
            return CLEARED
        return None
