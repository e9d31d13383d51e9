"""Procedural street-scene video with exact per-pixel CamVid labels (numpy + OpenCV only)."""

from synthetic.classes import CLASS_NAMES, IGNORE_INDEX, NUM_CLASSES, PALETTE
from synthetic.scene import RENDER_BYTES_PER_PIXEL, SceneConfig, StreetSceneVideo, SyntheticFrame
from synthetic.uri import SYNTHETIC_SCHEME, parse_synthetic_uri

__all__ = [
    "CLASS_NAMES",
    "IGNORE_INDEX",
    "NUM_CLASSES",
    "PALETTE",
    "RENDER_BYTES_PER_PIXEL",
    "SYNTHETIC_SCHEME",
    "SceneConfig",
    "StreetSceneVideo",
    "SyntheticFrame",
    "parse_synthetic_uri",
]
