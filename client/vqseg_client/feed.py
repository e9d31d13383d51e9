"""Which frame the streaming client sends next, and when.

- Files and synthetic scenes (``live`` False): every frame, in order, paced at the source's own
  rate (frame ``i`` leaves at ``start + (t_i - t_0)``); when the server is slower than that, the
  client waits for it (no frame is skipped) and the pace restarts from there.
- Live sources (webcams, RTSP): a reader thread drains the device all the time and keeps only the
  newest frame; the client sends the newest frame whenever it has room for one more in flight, and
  counts the frames it never sent as ``skipped`` (newest frame wins, on the client side too).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Iterable, Iterator

import numpy as np

from vqseg_client.sources import FrameSource, SourceFrame

_BEHIND = 0.5  # seconds behind schedule after which pacing restarts instead of catching up


class FrameFeed:
    """Frames from ``source`` (a ``FrameSource`` or any iterable of ``SourceFrame``) for one client.

    ``pace``: None = pace non-live sources at their rate (``fps``) and send live ones as they come;
    True/False forces pacing on/off. ``max_frames`` stops after that many frames (None = all).
    """

    def __init__(
        self,
        source: FrameSource | Iterable[SourceFrame],
        *,
        pace: bool | None = None,
        max_frames: int | None = None,
        live: bool | None = None,
    ) -> None:
        self.live = bool(getattr(source, "live", False)) if live is None else live
        self.fps: float | None = getattr(source, "fps", None)
        self.pace = (not self.live) if pace is None else pace
        self.max_frames = max_frames
        self.taken = 0
        self.skipped = 0
        self._frames: Iterator[SourceFrame] = iter(source)
        self._stop = threading.Event()
        self._schedule: tuple[float, float] | None = None  # (wall clock, source timestamp) of the pace origin
        self._newest: SourceFrame | None = None
        self._unread: SourceFrame | None = None
        self._ended = False
        self._changed = threading.Condition()
        self._reader: threading.Thread | None = None
        if self.live:
            self._reader = threading.Thread(target=self._drain, name="vqseg-client-reader", daemon=True)
            self._reader.start()

    @property
    def exhausted(self) -> bool:
        return self.max_frames is not None and self.taken >= self.max_frames

    async def next(self) -> SourceFrame | None:
        """The next frame to send (waiting for its time when paced), or None at the end."""
        if self._unread is not None:
            again, self._unread = self._unread, None
            self.taken += 1
            return again
        if self.exhausted or self._stop.is_set():
            return None
        frame = await asyncio.to_thread(self._take_newest if self.live else self._read)
        if frame is None:
            return None
        self.taken += 1
        if self.pace:
            await asyncio.sleep(self._delay(frame))
        return frame

    def unread(self, frame: SourceFrame) -> None:
        """Give back a frame ``next`` returned but that was never sent: ``next`` returns it again."""
        self._unread = frame
        self.taken -= 1

    def close(self, timeout: float = 2.0) -> bool:
        """Stop reading; the reader thread (live sources) is joined with a bound. False if it is
        still stuck in a read (the source must then not be released under it)."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._reader is not None:
            self._reader.join(timeout)
            return not self._reader.is_alive()
        return True

    def _read(self) -> SourceFrame | None:
        return next(self._frames, None)

    def _delay(self, frame: SourceFrame) -> float:
        now = time.monotonic()
        if self._schedule is None:
            self._schedule = (now, frame.timestamp)
            return 0.0
        wall0, ts0 = self._schedule
        due = wall0 + (frame.timestamp - ts0)
        if frame.timestamp < ts0 or now - due > _BEHIND:
            self._schedule = (now, frame.timestamp)  # behind (slow server) or a jump back: restart the pace
            return 0.0
        return max(0.0, due - now)

    def _drain(self) -> None:
        while not self._stop.is_set():
            frame = next(self._frames, None)
            with self._changed:
                if frame is None:
                    self._ended = True
                    self._changed.notify_all()
                    return
                if self._newest is not None:
                    self.skipped += 1
                    if self._newest.after_gap and not frame.after_gap:  # keep the reconnect mark
                        frame = dataclasses.replace(frame, after_gap=True)
                self._newest = frame
                self._changed.notify_all()

    def _take_newest(self) -> SourceFrame | None:
        with self._changed:
            while self._newest is None and not self._ended and not self._stop.is_set():
                self._changed.wait(0.25)
            frame, self._newest = self._newest, None
            return frame


def frames_from_arrays(images: Iterable[np.ndarray], fps: float = 15.0) -> Iterator[SourceFrame]:
    """Plain RGB arrays as ``SourceFrame`` s with timestamps ``index / fps``."""
    for index, image in enumerate(images):
        yield SourceFrame(image=image, timestamp=index / fps, index=index)
