"""Frame taps: what else a processed frame feeds besides its reply (watch rules, the MJPEG restream).

The inference worker calls ``measure(job, maps)`` on its own thread right after the blend, with the
maps still on the device (queue only device work there: no host copies, no waiting), and
``finish(job, probe, host, header)`` in the encode pool once the frame's maps are on the host. A tap
that has nothing to do for a frame returns None from ``measure`` and is not called again for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from server.frame_maps import HostMaps
from server.jobs import FrameJob
from streaming import UncertaintyMaps

log = logging.getLogger(__name__)


class FrameTap(Protocol):
    def measure(self, job: FrameJob, maps: UncertaintyMaps) -> Any | None: ...

    def finish(self, job: FrameJob, probe: Any, host: HostMaps, header: dict[str, object]) -> None: ...


class FrameTaps:
    """Several taps as one; a tap that fails is logged and never disturbs the frame or the others."""

    def __init__(self, taps: Sequence[FrameTap] = ()) -> None:
        self.taps = list(taps)

    def measure(self, job: FrameJob, maps: UncertaintyMaps) -> list[tuple[FrameTap, Any]] | None:
        probes = []
        for tap in self.taps:
            try:
                probe = tap.measure(job, maps)
            except Exception:
                log.exception("frame tap %s failed to measure", type(tap).__name__)
                continue
            if probe is not None:
                probes.append((tap, probe))
        return probes or None

    def finish(self, job: FrameJob, probes: list[tuple[FrameTap, Any]], host: HostMaps,
               header: dict[str, object]) -> None:
        for tap, probe in probes:
            try:
                tap.finish(job, probe, host, header)
            except Exception:
                log.exception("frame tap %s failed", type(tap).__name__)
