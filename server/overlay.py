"""The annotated restream: ``GET /v1/streams/{id}/overlay.mjpg`` (MJPEG over HTTP, for VLC, ffmpeg, an
NVR or an ``<img>``): the frame with its label overlay, and with ``heat=1`` the uncertainty heat map
beside it.

A frame tap: pictures are drawn only for streams that have viewers, in the encode pool (never on
the inference thread or the event loop), once per variant whatever the number of viewers. Each
viewer holds only the newest picture (a slow viewer skips pictures, it never queues them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from server.errors import Overloaded
from server.frame_maps import HostMaps
from server.jobs import FrameJob
from streaming import UncertaintyMaps
from vqseg_client.drawing import heatmap, overlay
from vqseg_client.result import unit_float

BOUNDARY = "vqsegframe"
MEDIA_TYPE = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
JPEG_QUALITY = 80


@dataclass(eq=False)
class Viewer:
    stream_id: str
    heat: bool
    picture: bytes | None = None
    fresh: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, picture: bytes) -> None:
        self.picture = picture
        self.fresh.set()


class OverlayHub:
    """Viewers per stream (event loop) and the tap that draws their pictures (encode pool)."""

    def __init__(self, max_viewers: int, max_per_stream: int, on_count: Callable[[int], None] | None = None) -> None:
        self.max_viewers = max_viewers
        self.max_per_stream = max_per_stream
        self._on_count = on_count
        self.palette: Sequence[Sequence[int]] = ()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._viewers: dict[str, set[Viewer]] = {}
        self._demand: dict[str, tuple[bool, bool]] = {}  # stream -> (plain wanted, heat wanted); replaced whole

    def __len__(self) -> int:
        return sum(len(v) for v in self._viewers.values())

    # ---- event loop ----------------------------------------------------------------------------
    def add(self, stream_id: str, heat: bool) -> Viewer:
        if len(self) >= self.max_viewers:
            raise Overloaded(f"this server has {self.max_viewers} overlay viewers (max_overlay_viewers)")
        viewers = self._viewers.setdefault(stream_id, set())
        if len(viewers) >= self.max_per_stream:
            raise Overloaded(f"stream {stream_id!r} has {len(viewers)} overlay viewers "
                             "(max_overlay_viewers_per_stream)")
        viewer = Viewer(stream_id, heat)
        viewers.add(viewer)
        self._update()
        return viewer

    def remove(self, viewer: Viewer) -> None:
        viewers = self._viewers.get(viewer.stream_id)
        if viewers is not None:
            viewers.discard(viewer)
            if not viewers:
                del self._viewers[viewer.stream_id]
        self._update()

    def _update(self) -> None:
        self._demand = {sid: (any(not v.heat for v in vs), any(v.heat for v in vs))
                        for sid, vs in self._viewers.items()}
        if self._on_count is not None:
            self._on_count(len(self))

    def _deliver(self, stream_id: str, plain: bytes | None, heat: bytes | None) -> None:
        for viewer in list(self._viewers.get(stream_id, ())):
            picture = heat if viewer.heat else plain
            if picture is not None:
                viewer.offer(picture)

    # ---- frame tap -----------------------------------------------------------------------------
    def measure(self, job: FrameJob, maps: UncertaintyMaps) -> tuple[bool, bool] | None:
        session = job.frame.session
        return None if session is None else self._demand.get(session.stream_id)

    def finish(self, job: FrameJob, probe: tuple[bool, bool], host: HostMaps, header: dict[str, object]) -> None:
        session = job.frame.session
        if session is None or self.loop is None:
            return
        image = job.frame.image
        drawn = overlay(image, host.labels, self.palette)
        plain = _jpeg(drawn) if probe[0] else None
        heat = None
        if probe[1]:
            size = (image.shape[1], image.shape[0])
            heat = _jpeg(np.concatenate([drawn, heatmap(unit_float(host.uncertainty), size)], axis=1))
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is gone
            self.loop.call_soon_threadsafe(self._deliver, session.stream_id, plain, heat)


def _jpeg(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("cannot encode the overlay picture")
    return data.tobytes()


async def parts(viewer: Viewer, alive: Callable[[], bool], poll: float = 1.0) -> AsyncIterator[bytes]:
    """The multipart body: one part per new picture while ``alive()`` (the stream exists, no shutdown)."""
    while alive():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(viewer.fresh.wait(), poll)
        if not viewer.fresh.is_set() or viewer.picture is None:
            continue
        viewer.fresh.clear()
        picture = viewer.picture
        head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(picture)}\r\n\r\n".encode()
        yield head + picture + b"\r\n"
