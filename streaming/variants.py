"""Named inference variants: a base mode plus the beyond-the-paper options, as one string.

``vqbnn_motion`` = vqbnn with motion-aware smoothing, ``vqbnn_spatial`` = vqbnn with a spatial blur
of ``DEFAULT_SPATIAL_SIGMA`` pixels, ``vqbnn_motion_spatial`` both; the same suffixes work on the
other modes where they mean something (``_motion`` only on smoothing modes). ``eval``, ``bench`` and
the server use these names, so a variant means the same thing everywhere. ``Mode`` members are
strings, so a plain ``Mode`` is a variant name too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from streaming.modes import Mode, StreamConfig

DEFAULT_SPATIAL_SIGMA = 0.5  # px at the network resolution; tuned on validation seeds (docs/motion.md)
SUFFIXES = ("motion", "spatial")
BUILT_IN = (
    "dnn",
    "bnn",
    "vqdnn",
    "vqbnn",
    "vqbnn_motion",
    "vqbnn_spatial",
    "vqbnn_motion_spatial",
)


def resolve_variant(name: str, spatial_sigma: float = DEFAULT_SPATIAL_SIGMA) -> dict[str, Any]:
    """The ``StreamConfig`` fields a variant name sets, e.g. ``{"mode": Mode.VQBNN, "motion": True}``.

    A base name sets only ``mode`` (so a config's own motion and blur settings carry over); each suffix
    switches its option on. Raises ``ValueError`` listing the choices for an unknown name.
    """
    base, *suffixes = name.strip().lower().split("_")
    try:
        mode = Mode(base)
    except ValueError:
        raise ValueError(_unknown(name)) from None
    if len(set(suffixes)) != len(suffixes) or any(s not in SUFFIXES for s in suffixes):
        raise ValueError(_unknown(name))
    if suffixes != sorted(suffixes, key=SUFFIXES.index):
        raise ValueError(f"write the suffixes of {name!r} in the order {'_'.join(SUFFIXES)}")
    if "motion" in suffixes and not mode.smooths:
        raise ValueError(f"{name!r}: motion-aware smoothing needs a smoothing mode (vqdnn or vqbnn)")
    changes: dict[str, Any] = {"mode": mode}
    if "motion" in suffixes:
        changes["motion"] = True
    if "spatial" in suffixes:
        changes["spatial_sigma"] = spatial_sigma
    return changes


def apply_variant(config: StreamConfig, name: str) -> StreamConfig:
    """``config`` with the variant's mode and options (tau, window, samples, ... kept). ``_spatial`` uses
    the config's own blur sigma when it has one, else ``DEFAULT_SPATIAL_SIGMA``."""
    sigma = config.spatial_sigma if config.spatial_sigma > 0 else DEFAULT_SPATIAL_SIGMA
    return replace(config, **resolve_variant(str(name), sigma))


def variant_name(config: StreamConfig) -> str:
    """The variant name of a config (inverse of ``resolve_variant`` up to the blur's sigma)."""
    parts = [config.mode.value]
    if config.motion and config.mode.smooths:
        parts.append("motion")
    if config.spatial_sigma > 0:
        parts.append("spatial")
    return "_".join(parts)


def parse_variants(text: str | Iterable[str]) -> list[str]:
    """``"dnn,vqbnn_motion"`` (or a list) to validated, de-duplicated names in the given order."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names: list[str] = []
    for item in items:
        name = item.strip().lower()
        if not name:
            continue
        resolve_variant(name)
        if name not in names:
            names.append(name)
    if not names:
        raise ValueError(f"no modes given; choose from: {', '.join(BUILT_IN)}")
    return names


def _unknown(name: str) -> str:
    return (
        f"unknown mode {name!r}; choose one of: {', '.join(BUILT_IN)} "
        f"(a base mode {'/'.join(m.value for m in Mode)} with optional suffixes _motion, _spatial)"
    )
