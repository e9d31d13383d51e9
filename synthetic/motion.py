"""How the camera moves in each scenario, as a pure function of time."""

from __future__ import annotations

import math
from dataclasses import dataclass

from synthetic.camera import Camera
from synthetic.keyed_random import KeyedRandom
from synthetic.world import WorldStyle, focal_length


@dataclass(frozen=True)
class CameraPlan:
    scenario: str  # drive, pan or static (a "cuts" video picks one of these per shot)
    x: float
    height: float
    z0: float
    speed: float  # m/s along z
    yaw0: float
    yaw_amplitude: float
    yaw_period: float  # seconds
    pitch: float
    sway: float  # lateral sway amplitude (m) while driving
    phase: float


def make_plan(style: WorldStyle, scenario: str, key: int) -> CameraPlan:
    rnd = KeyedRandom(style.seed, key, 0xCA)
    phase = rnd.uniform(0.0, 2 * math.pi)
    z0 = rnd.uniform(0.0, 500.0)
    if scenario == "drive":
        lane = rnd.integer(0, style.lanes_per_direction - 1)
        return CameraPlan(
            scenario, (lane + 0.5) * style.lane_width, rnd.uniform(1.2, 1.8), z0, style.drive_speed,
            0.0, rnd.uniform(0.02, 0.08), rnd.uniform(6.0, 14.0), rnd.uniform(0.0, 0.09), 0.25, phase,
        )
    side = 1 if rnd.chance(0.6) else -1
    curb = style.road_right if side > 0 else style.road_left
    x = curb + side * rnd.uniform(0.3, 1.5)
    look_across = -side * rnd.uniform(0.0, 0.35)
    if scenario == "pan":
        return CameraPlan(
            scenario, x, rnd.uniform(1.5, 3.5), z0, 0.0, look_across, rnd.uniform(0.3, 0.65),
            rnd.uniform(8.0, 18.0), rnd.uniform(0.03, 0.15), 0.0, phase,
        )
    return CameraPlan(
        scenario, x, rnd.uniform(2.0, 5.0), z0, 0.0, look_across, 0.0, 10.0,
        rnd.uniform(0.06, 0.22), 0.0, phase,
    )


def camera_at(plan: CameraPlan, style: WorldStyle, t: float, width: int, height: int) -> Camera:
    w = 2 * math.pi / plan.yaw_period
    yaw = plan.yaw0 + plan.yaw_amplitude * math.sin(w * t + plan.phase)
    x = plan.x
    if plan.scenario == "drive":
        yaw += 0.25 * plan.yaw_amplitude * math.sin(2.7 * w * t + 2 * plan.phase)
        x += plan.sway * math.sin(0.5 * w * t + plan.phase)
    bounce = 0.01 * math.sin(11.0 * t + plan.phase) if plan.speed > 0 else 0.0
    return Camera(
        width=width,
        height=height,
        focal=focal_length(style, width),
        x=x,
        y=plan.height + bounce,
        z=plan.z0 + plan.speed * t,
        yaw=yaw,
        pitch=plan.pitch + 0.5 * bounce,
    )
