"""A street's layout and look, drawn once from a seed: road geometry, palettes, object streams.

Objects are organised in *streams*: a lane or a sidewalk band along which instances of one kind sit at
``k * spacing`` (plus a keyed jitter), all moving with the stream's speed. Any instance's position is
then a function of (seed, stream, k, t) only, which makes random access to frames exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from synthetic.keyed_random import KeyedRandom

SCENARIOS: tuple[str, ...] = ("drive", "pan", "static", "cuts")

FACADE_PALETTES: tuple[tuple[tuple[int, int, int], ...], ...] = (
    ((196, 170, 130), (210, 190, 150), (170, 140, 110), (225, 215, 190)),  # sandstone and cream
    ((150, 70, 50), (170, 90, 60), (120, 55, 45), (190, 120, 90)),  # red brick
    ((150, 150, 150), (120, 120, 125), (175, 175, 170), (95, 95, 100)),  # concrete greys
    ((200, 200, 205), (230, 228, 220), (180, 190, 200), (215, 205, 190)),  # white plaster
    ((160, 190, 200), (210, 170, 170), (190, 200, 160), (220, 200, 150)),  # pastels
    ((90, 75, 65), (110, 100, 90), (70, 70, 80), (130, 110, 95)),  # dark
)


@dataclass(frozen=True)
class Stream:
    kind: str  # tree, bush, pole, lamp, sign, light, fence, parked, car, pedestrian, cyclist
    key: int
    x: float  # lateral centre (m)
    spacing: float  # metres between slots along z
    density: float  # probability that a slot is occupied
    speed: float = 0.0  # m/s along z
    heading: int = 1  # +1 faces/moves towards +z, -1 towards -z
    lateral_jitter: float = 0.0
    locked_gap: float = 0.0  # > 0: instances never come closer than this to the camera's z (ego lane)


@dataclass(frozen=True)
class WorldStyle:
    seed: int
    lane_width: float
    lanes_per_direction: int
    road_left: float  # x of the left road edge (negative)
    road_right: float
    facade_left: float  # x of the left facade plane
    facade_right: float
    center_line: str  # "dashed", "solid", "double"
    marking_color: tuple[int, int, int]
    asphalt: tuple[int, int, int]
    pavement: tuple[int, int, int]
    curb: tuple[int, int, int]
    facade_colors: tuple[tuple[int, int, int], ...]
    sky: str  # clear, cloudy, overcast
    brightness: float
    temperature: float
    sun_side: int  # -1: sun from the left, shadows fall to the right
    shadow_length: float  # shadow length per metre of height; 0: no shadows
    hfov_deg: float
    drive_speed: float
    autumn: float  # fraction of autumn-coloured trees
    open_sides: tuple[int, ...] = ()  # sides (-1 left, 1 right) with a park instead of buildings
    streams: tuple[Stream, ...] = field(default=())


def _color(rnd: KeyedRandom, options: tuple[tuple[int, int, int], ...], amount: float) -> tuple[int, int, int]:
    return rnd.jitter_color(rnd.choice(options), amount)


def _open_sides(seed: int) -> tuple[int, ...]:
    """One street in five has a park on one side (drawn apart so other choices do not shift)."""
    rnd = KeyedRandom(seed, 0x58)
    return (rnd.choice((-1, 1)),) if rnd.chance(0.2) else ()


def make_style(seed: int) -> WorldStyle:
    rnd = KeyedRandom(seed, 0x57)
    lane_w = rnd.uniform(2.9, 3.6)
    lanes = 1 if rnd.chance(0.6) else 2
    park_l = 2.3 if rnd.chance(0.6) else 0.4
    park_r = 2.3 if rnd.chance(0.7) else 0.4
    road_left, road_right = -(lanes * lane_w + park_l), lanes * lane_w + park_r
    facade_left = road_left - rnd.uniform(2.5, 6.5)
    facade_right = road_right + rnd.uniform(2.5, 6.5)
    grey = rnd.uniform(55, 115)
    asphalt = rnd.jitter_color((grey, grey, grey + rnd.uniform(-4, 6)), 6)
    sky = rnd.weighted(("clear", "cloudy", "overcast"), (0.4, 0.35, 0.25))
    palette = list(rnd.choice(FACADE_PALETTES))
    palette += [rnd.jitter_color(rnd.choice(FACADE_PALETTES)[rnd.integer(0, 3)], 20) for _ in range(3)]
    style = WorldStyle(
        seed=seed,
        lane_width=lane_w,
        lanes_per_direction=lanes,
        road_left=road_left,
        road_right=road_right,
        facade_left=facade_left,
        facade_right=facade_right,
        center_line=rnd.choice(("dashed", "solid", "double")),
        marking_color=rnd.choice(((235, 235, 230), (225, 225, 215), (230, 190, 60))),
        asphalt=asphalt,
        pavement=_color(rnd, ((150, 145, 140), (175, 165, 150), (160, 120, 110), (125, 125, 130)), 15),
        curb=_color(rnd, ((185, 185, 180), (160, 160, 160)), 10),
        facade_colors=tuple(palette),
        sky=sky,
        brightness=rnd.uniform(0.8, 1.12) * (0.9 if sky == "overcast" else 1.0),
        temperature=rnd.uniform(-1.0, 1.0),
        sun_side=1 if rnd.chance(0.5) else -1,
        shadow_length=0.0 if sky == "overcast" else rnd.uniform(0.25, 1.2),
        hfov_deg=rnd.uniform(58.0, 80.0),
        drive_speed=rnd.uniform(5.0, 12.0),
        autumn=rnd.choice((0.0, 0.0, 0.15, 0.5)),
        open_sides=_open_sides(seed),
    )
    return _with_streams(style, rnd)


def _with_streams(style: WorldStyle, rnd: KeyedRandom) -> WorldStyle:
    s = style
    streams: list[Stream] = []
    key = 100

    def add(kind: str, x: float, spacing: float, density: float, **kw: float | int) -> None:
        nonlocal key
        key += 1
        streams.append(Stream(kind, key, x, spacing, density, **kw))  # type: ignore[arg-type]

    tree_density = rnd.uniform(0.25, 0.95)
    tree_spacing = rnd.uniform(7.0, 14.0)
    for side, road, facade in ((-1, s.road_left, s.facade_left), (1, s.road_right, s.facade_right)):
        curb_band = road + side * 0.9
        add("tree", curb_band + side * 0.2, tree_spacing, tree_density, lateral_jitter=0.2)
        add("bush", facade - side * 0.7, rnd.uniform(9, 20), rnd.uniform(0.1, 0.6), lateral_jitter=0.2)
        if side in s.open_sides:  # a park: a tree line and a hedge where the buildings would be
            add("tree", facade + side * 1.5, rnd.uniform(4.0, 7.0), 0.9, lateral_jitter=1.5)
            add("tree", facade + side * 7.0, rnd.uniform(5.0, 9.0), 0.8, lateral_jitter=2.5)
            add("bush", facade - side * 0.2, 2.5, 0.9, lateral_jitter=0.1)
        add("lamp", road + side * 0.45, rnd.uniform(22, 38), rnd.uniform(0.7, 1.0))
        add("sign", road + side * 0.5, rnd.uniform(20, 45), rnd.uniform(0.6, 1.0))
        add("light", road + side * 0.5, rnd.uniform(60, 120), rnd.uniform(0.3, 0.9))
        add("fence", road + side * 0.25 if rnd.chance(0.5) else facade - side * 0.3,
            rnd.uniform(18, 40), rnd.uniform(0.35, 0.9))
        walk = (road + facade) / 2.0
        half = abs(facade - road) / 2.0 - 0.5
        ped_density = rnd.uniform(0.35, 0.9)
        ped_spacing = rnd.uniform(5.0, 12.0)
        add("pedestrian", walk, ped_spacing, ped_density, speed=1.3, heading=1, lateral_jitter=half)
        add("pedestrian", walk, ped_spacing, ped_density, speed=-1.2, heading=-1, lateral_jitter=half)
        park_band = abs(road) - s.lanes_per_direction * s.lane_width
        if park_band > 1.5:
            add("parked", road - side * 1.1, rnd.uniform(5.4, 6.6), rnd.uniform(0.3, 0.9),
                heading=1 if side > 0 else -1)
        cyclist_x = side * (s.lanes_per_direction * s.lane_width - 0.6)
        add("cyclist", cyclist_x, rnd.uniform(25, 50), rnd.uniform(0.45, 0.9),
            speed=side * rnd.uniform(3.5, 6.0), heading=side)
    for lane in range(s.lanes_per_direction):
        x = (lane + 0.5) * s.lane_width
        add("car", x, rnd.uniform(22, 40), rnd.uniform(0.4, 0.9), speed=rnd.uniform(7, 13), heading=1)
        add("car", -x, rnd.uniform(25, 50), rnd.uniform(0.4, 0.9), speed=-rnd.uniform(8, 14), heading=-1)
    return WorldStyle(**{**s.__dict__, "streams": tuple(streams)})


def focal_length(style: WorldStyle, width: int) -> float:
    return width / (2.0 * math.tan(math.radians(style.hfov_deg) / 2.0))
