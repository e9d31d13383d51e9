"""Watch rules: validation, the per-frame measures (exact values on known maps), hold and cool-down."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from server.events.measure import CompiledRule, RegionMasks, measure, polygon_mask
from server.events.rules import MAX_RULES, WatchRule, parse_rules, rules_from_setting
from server.events.watch import CLEARED, RAISED, RuleState
from streaming import uncertainty_maps
from streaming.uncertainty import entropy


def rule(**fields: object) -> WatchRule:
    return WatchRule.model_validate({"name": "r", "threshold": 0.5, **fields})


def two_class_maps() -> torch.Tensor:
    """(2, 4, 4): the left half is certain class 0, the right half a 50/50 guess (entropy ln 2)."""
    probs = torch.zeros(2, 4, 4)
    probs[0, :, :2] = 1.0
    probs[:, :, 2:] = 0.5
    return probs


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"measure": "class_uncertain_share"}, "needs 'class'"),
        ({"polygon": [[0, 0], [1.5, 0], [1, 1]]}, "polygon"),
        ({"polygon": [[0, 0], [1, 1]]}, "at least 3"),
        ({"threshold": 1.5}, "less than or equal"),
        ({"name": "a/b"}, "pattern"),
        ({"hold": -1}, "greater than or equal"),
        ({"unknown": 1}, "Extra inputs"),
    ],
)
def test_invalid_rules_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        rule(**fields)


def test_rule_sets_need_unique_names_and_a_bound() -> None:
    with pytest.raises(ValueError, match="unique"):
        parse_rules([{"name": "a", "threshold": 0.1}, {"name": "a", "threshold": 0.2}])
    with pytest.raises(ValueError, match=f"at most {MAX_RULES}"):
        parse_rules([{"name": f"r{i}", "threshold": 0.1} for i in range(MAX_RULES + 1)])
    assert rules_from_setting("") == ()
    assert rules_from_setting('[{"name": "fog", "threshold": 0.3, "class": "road"}]')[0].class_name == "road"


def test_class_names_resolve_against_the_model() -> None:
    assert rule(measure="class_uncertain_share", **{"class": "road"}).class_index(("sky", "road")) == 1
    with pytest.raises(ValueError, match="unknown class"):
        rule(measure="class_uncertain_share", **{"class": "boat"}).class_index(("sky", "road"))


def test_measures_on_known_maps() -> None:
    probs = two_class_maps()
    maps = uncertainty_maps(probs, entropy(probs, dim=0))  # one member: no mutual information
    right = ((0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0))
    rules = [
        CompiledRule(rule(name="share", level=0.9), None),  # normalised entropy 1 on the right half
        CompiledRule(rule(name="mean", measure="roi_mean"), None),
        CompiledRule(rule(name="roi", measure="roi_mean", polygon=right), None),
        CompiledRule(rule(name="cls", measure="class_uncertain_share", **{"class": 0}), 0),
        CompiledRule(rule(name="mi", map="mutual_info", level=0.0), None),
    ]
    values = measure(maps, rules, RegionMasks()).tolist()
    # labels: class 0 everywhere (ties go to the lowest class), so class 0's uncertain share is 1/2
    assert values == pytest.approx([0.5, 0.5, 1.0, 0.5, 0.0], abs=1e-6)
    assert maps.entropy[0, 3].item() == pytest.approx(math.log(2))


def test_polygon_mask_covers_the_region() -> None:
    mask = polygon_mask(((0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)), 4, 8)
    assert mask[:, 4:].all() and not mask[:, :4].any()


def test_hold_and_cooldown_give_one_event_per_crossing() -> None:
    r = rule(threshold=0.5, hold=1.0, cooldown=10.0)
    state = RuleState()
    steps = [(0.0, 0.9), (0.5, 0.9), (0.6, 0.1),  # a blip shorter than the hold: nothing
             (1.0, 0.9), (1.5, 0.9), (2.0, 0.9), (2.5, 0.9), (3.0, 0.2),  # held 1 s: raised at 2.0, cleared
             (4.0, 0.9), (5.5, 0.9), (6.0, 0.1),  # inside the cool-down: nothing
             (8.0, 0.9), (11.0, 0.9), (12.5, 0.9), (13.0, 0.1)]  # held; fires when the cool-down ends
    fired = [(t, k) for t, v in steps if (k := state.step(r, v, t)) is not None]
    assert fired == [(2.0, RAISED), (3.0, CLEARED), (12.5, RAISED), (13.0, CLEARED)]


def test_a_new_clock_starts_the_rule_afresh() -> None:
    r = rule(threshold=0.5, hold=0.0, cooldown=100.0)
    state = RuleState()
    assert state.step(r, 0.9, 50.0) == RAISED
    assert state.step(r, 0.1, 51.0) == CLEARED
    assert state.step(r, 0.9, 0.5) == RAISED  # timestamps restarted: the cool-down of the old clock is gone
