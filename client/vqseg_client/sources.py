"""Frames for the client to send, read on the camera side with OpenCV (no torch, no server code).

``open_source(uri)`` understands a webcam index (``0``, ``webcam:0``), network streams (``rtsp://``,
``http(s)://``, ``rtmp://``, ...) with reconnects, video files, and ``synthetic:...`` scenes when the
``synthetic`` package of the vqseg repository is importable (numpy + OpenCV only, optional here).
Any object with ``read()``/iteration yielding ``SourceFrame`` s (and optional ``live``, ``fps``,
``close()``) works as a source too: the client only duck-types it.

This is vqseg's one frame reader: ``vqseg stream`` reads with it on the camera side, and the server
pulls cameras (``POST /v1/streams``) with it, after its pull policy has checked the address. A
source is shown and logged only as ``display`` (credentials hidden: ``vqseg_client.redact``);
``stop()`` makes a read blocked in another thread give up soon.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from vqseg_client.redact import redact

log = logging.getLogger(__name__)

NETWORK_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")


class SourceError(RuntimeError):
    """The source cannot be opened (no such file, camera, URL; a bad ``synthetic:`` URI)."""


@dataclass(frozen=True)
class SourceFrame:
    """One frame: RGB uint8 ``H x W x 3``, capture time (seconds), index; ``labels`` when the source
    knows them (synthetic scenes); ``after_gap`` on the first frame after a reconnect."""

    image: np.ndarray
    timestamp: float
    index: int
    labels: np.ndarray | None = None
    after_gap: bool = False


class FrameSource:
    """Base of the client's sources: an iterable of ``SourceFrame``; ``read()`` is None at the end."""

    uri: str = ""
    fps: float | None = None
    live: bool = False

    @property
    def display(self) -> str:
        """The source as it may be shown or logged (credentials hidden)."""
        return redact(self.uri)

    def read(self) -> SourceFrame | None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device/connection; reading after close returns None."""

    def stop(self) -> None:
        """Ask a ``read`` blocked in another thread to give up soon (thread-safe; the reader closes)."""

    def __iter__(self) -> Iterator[SourceFrame]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass(frozen=True)
class Reconnect:
    """Backoff for network sources: ``initial`` doubling up to ``maximum`` seconds, ``attempts`` tries
    in a row (0 = forever)."""

    initial: float = 0.5
    maximum: float = 10.0
    attempts: int = 0


def is_network_uri(uri: str) -> bool:
    return uri.lower().startswith(NETWORK_SCHEMES)


class OpenCVSource(FrameSource):
    """A ``cv2.VideoCapture``: a webcam index, a URL (reconnecting) or a file path."""

    def __init__(self, target: int | str, reconnect: Reconnect | None = None, open_timeout: float = 10.0) -> None:
        self.uri = str(target)
        self._target = target
        self.live = isinstance(target, int) or is_network_uri(str(target))
        self._reconnect = reconnect if reconnect is not None else (Reconnect() if self.live else None)
        self._open_timeout = open_timeout
        self._index = 0
        self._after_gap = False
        self._closed = threading.Event()
        self._capture = self._open()
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 0 < fps < 1000 else None

    def _open(self) -> cv2.VideoCapture:
        if isinstance(self._target, int):
            capture = cv2.VideoCapture(self._target)
        else:
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self._open_timeout * 1000)]
            if is_network_uri(self._target):
                params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self._open_timeout * 1000)]
            capture = cv2.VideoCapture(self._target, cv2.CAP_FFMPEG, params)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open video source {self.display!r}")
        return capture

    def read(self) -> SourceFrame | None:
        while not self._closed.is_set():
            ok, bgr = self._capture.read()
            if ok and bgr is not None:
                return self._frame(bgr)
            if self._reconnect is None or not self._reopen():
                return None  # end of file, or the stream gave up
        return None

    def _frame(self, bgr: np.ndarray) -> SourceFrame:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB if bgr.ndim == 2 else cv2.COLOR_BGR2RGB)
        if self.live:
            timestamp = time.time()
        else:
            msec = self._capture.get(cv2.CAP_PROP_POS_MSEC)
            timestamp = msec / 1000.0 if msec and msec > 0 else self._index / (self.fps or 25.0)
        frame = SourceFrame(rgb, timestamp, self._index, after_gap=self._after_gap)
        self._index += 1
        self._after_gap = False
        return frame

    def _reopen(self) -> bool:
        assert self._reconnect is not None
        delay, attempt = self._reconnect.initial, 0
        self._capture.release()
        while not self._closed.is_set():
            attempt += 1
            log.warning("source %s broke; reconnect attempt %d in %.1fs", self.display, attempt, delay)
            if self._closed.wait(delay):
                return False
            try:
                self._capture = self._open()
            except SourceError:
                if self._reconnect.attempts and attempt >= self._reconnect.attempts:
                    log.error("source %s gave up after %d attempts", self.display, attempt)
                    return False
                delay = min(delay * 2, self._reconnect.maximum)
                continue
            self._after_gap = True
            log.info("source %s reconnected after %d attempt(s)", self.display, attempt)
            return True
        return False

    def stop(self) -> None:
        """A blocked read returns within the read timeout and no reconnect follows (any thread)."""
        self._closed.set()

    def close(self) -> None:
        self._closed.set()
        self._capture.release()


class SyntheticSource(FrameSource):
    """The vqseg repository's procedural street scene (``synthetic:street?seed=7&w=480&h=360&fps=15``)."""

    live = False

    def __init__(self, uri: str) -> None:
        try:
            from synthetic import StreetSceneVideo, parse_synthetic_uri
        except ImportError as exc:
            raise SourceError("synthetic: sources need the vqseg repository's 'synthetic' package "
                              "(numpy + OpenCV only) on the path") from exc
        self.uri = uri
        try:
            self.config = parse_synthetic_uri(uri)
        except ValueError as exc:
            raise SourceError(str(exc)) from exc
        self.fps = self.config.fps
        self._video = StreetSceneVideo(self.config)
        self._next = 0
        self._closed = False

    def read(self) -> SourceFrame | None:
        n = self.config.num_frames
        if self._closed or (n is not None and self._next >= n):
            return None
        frame = self._video.frame(self._next)
        self._next += 1
        return SourceFrame(frame.image, frame.timestamp, frame.index, labels=frame.labels)

    def close(self) -> None:
        self._closed = True


def open_source(uri: str, reconnect: Reconnect | None = None, open_timeout: float = 10.0) -> FrameSource:
    """Open a frame source.

    - ``0``, ``1``, ``webcam:0``: a local camera by index;
    - ``rtsp://...``, ``http(s)://...`` (MJPEG/HLS), ``rtmp://...``: a network stream, with reconnects;
    - ``synthetic:street?seed=7&w=480&h=360&fps=15&...``: the procedural street scene with labels;
    - anything else: a video file path (``file:`` prefix optional).

    No policy is applied here (a client reads what its user names); a server checks a source with
    its pull policy first. ``open_timeout`` bounds opening and each read of a network source.
    """
    text = uri.strip()
    if _small_number(text):
        return OpenCVSource(int(text), reconnect, open_timeout)
    if text.lower().startswith("webcam:"):
        index = text.split(":", 1)[1] or "0"
        if not _small_number(index):
            raise SourceError(f"webcam index must be a small number: {redact(uri)!r}")
        return OpenCVSource(int(index), reconnect, open_timeout)
    if text.lower().startswith("synthetic:"):
        return SyntheticSource(text)
    if is_network_uri(text):
        return OpenCVSource(text, reconnect, open_timeout)
    path = Path(text.removeprefix("file:"))
    if not path.is_file():
        raise SourceError(f"no such video file: {redact(str(path))}")
    return OpenCVSource(str(path), reconnect, open_timeout)


def _small_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 4
