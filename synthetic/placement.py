"""Where every object of every stream is at time t: a pure function of (world, camera plan, t)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from synthetic.keyed_random import KeyedRandom
from synthetic.motion import CameraPlan
from synthetic.world import Stream, WorldStyle

BEHIND = 8.0  # metres behind the camera still considered (long objects reach forward)
AHEAD = 130.0  # metres ahead beyond which objects are not drawn
EGO_GAP = 12.0  # metres kept free around the camera in its own lane


@dataclass(frozen=True)
class Instance:
    kind: str
    keys: tuple[int, int, int]  # (world seed, stream key, slot) identify the object's look
    x: float
    z: float
    heading: int
    phase: float  # gait / crank angle, or traffic light state
    length: float = 0.0  # fences


def _effective(stream: Stream, plan: CameraPlan, style: WorldStyle) -> Stream:
    """While driving, the camera's own lane moves with the camera and keeps a gap around it."""
    own_lane = stream.kind == "car" and stream.heading > 0 and abs(stream.x - plan.x) < style.lane_width / 2
    if plan.speed > 0 and own_lane:
        return Stream(stream.kind, stream.key, stream.x, stream.spacing * 1.3, stream.density,
                      plan.speed, stream.heading, 0.0, EGO_GAP)
    return stream


def instances(style: WorldStyle, plan: CameraPlan, cam_z: float, t: float) -> Iterator[Instance]:
    for raw in style.streams:
        stream = _effective(raw, plan, style)
        shift = stream.speed * t
        lo = math.floor((cam_z - BEHIND - 25.0 - shift) / stream.spacing) - 1
        hi = math.ceil((cam_z + AHEAD - shift) / stream.spacing) + 1
        for k in range(lo, hi + 1):
            rnd = KeyedRandom(style.seed, stream.key, k)
            if not rnd.chance(stream.density):
                continue
            z = (k + rnd.uniform(-0.3, 0.3)) * stream.spacing + shift
            x = stream.x + rnd.uniform(-1.0, 1.0) * stream.lateral_jitter
            phase = 0.0
            length = 0.0
            if stream.kind == "pedestrian":
                z += 0.8 * math.sin(0.3 * t + rnd.uniform(0, 6.28))
                phase = 2 * math.pi * abs(shift) / 1.4 + rnd.uniform(0, 6.28)
            elif stream.kind == "cyclist":
                phase = 2 * math.pi * abs(shift) / 2.2 + rnd.uniform(0, 6.28)
            elif stream.kind == "light":
                cycle = (t + rnd.uniform(0, 20.0)) % 20.0
                phase = 0.0 if cycle < 9.0 else (1.0 if cycle < 11.0 else 2.0)
            elif stream.kind == "fence":
                length = rnd.uniform(5.0, min(20.0, stream.spacing - 2.0))
            elif stream.kind == "car" and stream.locked_gap > 0:
                z += 2.5 * math.sin(0.2 * t + rnd.uniform(0, 6.28))
                if abs(z - cam_z) < stream.locked_gap:
                    continue
            reach = length if stream.kind == "fence" else 3.0
            if z + reach < cam_z - BEHIND or z > cam_z + AHEAD:
                continue
            yield Instance(stream.kind, (style.seed, stream.key, k), x, z, stream.heading, phase, length)
