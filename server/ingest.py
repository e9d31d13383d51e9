"""Server-pulled sources: a thread per source reads frames and submits them to the worker.

Live sources (cameras, RTSP) are read as fast as they deliver; files and ``synthetic:`` scenes at
their own frame rate. Either way frames are submitted as droppable, so the worker keeps only the
newest waiting frame of the stream (newest frame wins). Network sources that cannot be opened are
retried with exponential backoff; ``OpenCVSource`` itself reconnects a stream that breaks, and its
first frame after a reconnect restarts the ring buffer. Results go back to the event loop, where
they fan out to the stream's watchers.

``uri`` has passed the server's pull policy (``server.source_policy``); ``display`` is the same
source with its password hidden, the only form that is logged. ``stop`` also interrupts a read that
is blocked inside the source (OpenCV's open/read timeouts bound it), so a deleted stream's thread
ends within about ``open_timeout`` whatever the source does, and it never reconnects after ``stop``.
Frames larger than ``max_pixels`` end the stream (``failed``) instead of reaching the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import numpy as np

from server.errors import ServiceError
from server.jobs import FrameJob, FrameResult, ReplySpec
from server.source_policy import redact
from streaming import StreamFrame, StreamSession
from vqseg_client.sources import FrameSource, SourceError, SourceFrame, is_network_uri, open_source

log = logging.getLogger(__name__)

Submit = Callable[[FrameJob], None]


def needs_background_open(uri: str) -> bool:
    """Network sources may take long to open (and are retried); files, webcams and scenes open at once."""
    return is_network_uri(uri.strip())


class SourceIngest:
    """Reads one source into one stream until ``stop``; ``state`` says how it goes."""

    def __init__(
        self,
        uri: str,
        session: StreamSession,
        submit: Submit,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[FrameResult], None],
        on_end: Callable[[str], None],
        wants_frames: Callable[[], str],
        source: FrameSource | None = None,
        repeat: bool = False,
        backoff: tuple[float, float] = (0.5, 10.0),
        open_timeout: float = 10.0,
        max_pixels: int = 8192 * 8192,
        hold: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.uri = uri
        self.display = redact(uri)
        self.session = session
        self.state = "connecting"
        self.error: str | None = None
        self.frames_read = 0
        self._submit = submit
        self._loop = loop
        self._deliver = deliver
        self._on_end = on_end
        self._wants = wants_frames
        self._source = source
        self._repeat = repeat
        self._backoff = backoff
        self._open_timeout = open_timeout
        self._max_pixels = max_pixels
        self._hold = hold
        self._current: FrameSource | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"vqseg-ingest-{session.stream_id}", daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and self.state not in ("ended", "failed", "stopped")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the reader to finish: a read blocked in the source gives up within its timeout."""
        self._stop.set()
        with self._lock:
            current = self._current
        if current is not None:
            current.stop()

    @property
    def alive(self) -> bool:
        """The reader thread still runs (after ``stop`` until its blocked call returns)."""
        return self._thread.is_alive()

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ---- reader thread ---------------------------------------------------------------------
    def _main(self) -> None:
        delay = self._backoff[0]
        offset = 0.0
        while not self._stop.is_set():
            source = self._source or self._open()
            self._source = None
            if source is not None:
                with self._lock:
                    self._current = source
                if self._stop.is_set():  # stopped while it was opening
                    source.close()
                    break
            if source is None:
                if self.state == "failed" or self._stop.wait(delay):
                    break
                delay = min(delay * 2, self._backoff[1])
                continue
            delay = self._backoff[0]
            self.state = "running"
            try:
                last = self._read_all(source, offset)
            except _TooLarge as exc:
                self.error, self.state, last = str(exc), "failed", None
                log.warning("stream %s: %s", self.session.stream_id, exc)
            except Exception as exc:
                log.exception("source %s of stream %s failed", self.display, self.session.stream_id)
                self.error = f"source failed: {type(exc).__name__}"
                last = None
            finally:
                with self._lock:
                    self._current = None
                source.close()
            if self.state == "failed":
                break
            if self._stop.is_set():
                break
            if self._repeat and not source.live and last is not None:
                offset = last + 1.0 / (source.fps or 15.0)  # keep time moving forward across the loop
                continue
            if source.live:  # a live source gave up reconnecting: try again from scratch
                self.state = "reconnecting"
                if self._stop.wait(delay):
                    break
                continue
            break
        self.state = "stopped" if self._stop.is_set() else ("failed" if self.state == "failed" else "ended")
        self._call_soon(self._on_end, f"source {self.state}")

    def _call_soon(self, callback: Callable[[Any], None], arg: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop is closed: the server is gone
            self._loop.call_soon_threadsafe(callback, arg)

    def _open(self) -> FrameSource | None:
        try:
            return open_source(self.uri, open_timeout=self._open_timeout)
        except SourceError:
            self.error = f"cannot open source {self.display}"
            self.state = "reconnecting" if needs_background_open(self.uri) else "failed"
            log.warning("stream %s: %s", self.session.stream_id, self.error)
            return None

    def _read_all(self, source: FrameSource, offset: float) -> float | None:
        """Submit every frame; pace non-live sources at their fps. Returns the last timestamp read."""
        period = 0.0 if source.live else 1.0 / (source.fps or 15.0)
        start = time.monotonic()
        last: float | None = None
        for n, frame in enumerate(_frames(source, self._stop)):
            if period:
                wait = start + n * period - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    break
            last = frame.timestamp + offset
            self._submit_frame(frame, last)
        return last

    def _submit_frame(self, frame: SourceFrame, timestamp: float) -> None:
        self.frames_read += 1
        height, width = frame.image.shape[:2]
        if height * width > self._max_pixels:
            raise _TooLarge(f"source frames are {width}x{height}; the limit is {self._max_pixels} pixels")
        image = frame.image
        if self._hold is not None:
            try:  # counted against max_decoded_bytes until the worker is done with it
                image = self._hold(image)
            except ServiceError as exc:
                log.debug("stream %s: frame refused: %s", self.session.stream_id, exc)
                return
        wants = self._wants()  # "none" | "json" | "json+frame"
        reply = ReplySpec(fmt="none" if wants == "none" else "json", include_frame=wants == "json+frame")
        job = FrameJob(StreamFrame(image, timestamp, self.session), reply, time.perf_counter(), droppable=True,
                       reset=frame.after_gap)
        try:
            self._submit(job)
        except ServiceError as exc:  # overloaded or shutting down: this frame is lost, the next may pass
            log.debug("stream %s: frame refused: %s", self.session.stream_id, exc)
            return
        job.future.add_done_callback(self._done)

    def _done(self, future: Future[FrameResult | None]) -> None:
        if future.cancelled() or future.exception() is not None:
            if not future.cancelled():
                log.warning("stream %s: frame failed: %s", self.session.stream_id, future.exception())
            return
        result = future.result()
        if result is not None:
            self._call_soon(self._deliver, result)


class _TooLarge(Exception):
    pass


def _frames(source: FrameSource, stop: threading.Event) -> Iterator[SourceFrame]:
    while not stop.is_set():
        frame = source.read()
        if frame is None:
            return
        yield frame
