"""``synthetic:`` frame-source URIs, e.g. ``synthetic:street?seed=7&scenario=pan&corruption=fog+noise``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from synthetic.scene import SceneConfig

SYNTHETIC_SCHEME = "synthetic"
_SCENES = ("", "street")


def _frames(value: str) -> int | None:
    return None if value.lower() in ("", "none", "inf", "endless") else int(value)


# query key -> (SceneConfig field, converter)
_KEYS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "seed": ("seed", int),
    "w": ("width", int),
    "width": ("width", int),
    "h": ("height", int),
    "height": ("height", int),
    "fps": ("fps", float),
    "scenario": ("scenario", str),
    "corruption": ("corruption", lambda v: v.replace(" ", "+")),
    "severity": ("severity", float),
    "frames": ("num_frames", _frames),
    "cut_every": ("cut_every", int),
    "corrupt_frames": ("corrupt_frames", str),
}


def parse_synthetic_uri(uri: str) -> SceneConfig:
    """Parse a ``synthetic:`` URI into a SceneConfig. Raises ValueError on anything unknown or invalid.

    Accepted keys: seed, w (width), h (height), fps, scenario, corruption, severity, frames, cut_every,
    corrupt_frames (frame ranges with the corruption, e.g. ``60-119,200-``; default every frame).
    A ``+`` in values is kept literally (``corruption=fog+noise``).
    """
    scheme, sep, rest = uri.strip().partition(":")
    if not sep or scheme.lower() != SYNTHETIC_SCHEME:
        raise ValueError(f"not a {SYNTHETIC_SCHEME}: URI: {uri!r}")
    rest = rest.lstrip("/")
    scene, _, query = rest.partition("?")
    if scene not in _SCENES:
        raise ValueError(f"unknown synthetic scene {scene!r}; allowed: 'street' (or empty)")
    fields: dict[str, Any] = {}
    for item in filter(None, query.split("&")):
        key, eq, raw = item.partition("=")
        key = unquote(key).strip().lower()
        if key not in _KEYS:
            raise ValueError(f"unknown key {key!r} in {uri!r}; allowed: {', '.join(_KEYS)}")
        if not eq:
            raise ValueError(f"key {key!r} has no value in {uri!r}")
        name, convert = _KEYS[key]
        try:
            fields[name] = convert(unquote(raw).strip())
        except ValueError as exc:
            raise ValueError(f"bad value {raw!r} for {key!r} in {uri!r}: {exc}") from exc
    try:
        return SceneConfig(**fields)
    except ValueError as exc:
        raise ValueError(f"invalid {SYNTHETIC_SCHEME}: URI {uri!r}: {exc}") from exc
