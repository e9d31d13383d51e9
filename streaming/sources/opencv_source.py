"""Webcams, network streams (RTSP/HTTP) and video files through OpenCV, with reconnects.

Network sources reconnect with exponential backoff when the stream breaks; the first frame after
a reconnect is marked ``after_gap`` so the stream's buffer restarts. Files are read in order; their
timestamps come from the container (or index / fps).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np

from streaming.errors import SourceError
from streaming.sources.base import FrameSource, SourceFrame
from streaming.sources.policy import redact

log = logging.getLogger(__name__)

NETWORK_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")


@dataclass(frozen=True)
class Reconnect:
    """Backoff for network sources: ``initial`` doubling up to ``maximum`` seconds, ``attempts`` tries
    in a row (0 = forever) before the source gives up."""

    initial: float = 0.5
    maximum: float = 10.0
    attempts: int = 0


def is_network_uri(uri: str) -> bool:
    return uri.lower().startswith(NETWORK_SCHEMES)


class OpenCVSource(FrameSource):
    """A ``cv2.VideoCapture``: ``target`` is a webcam index, a URL or a file path."""

    def __init__(self, target: int | str, reconnect: Reconnect | None = None, open_timeout: float = 10.0) -> None:
        self.uri = str(target)
        self.display = redact(self.uri)
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
        width, height = (int(self._capture.get(p) or 0) for p in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT))
        if width > 0 and height > 0:
            self.frame_size = (width, height)
            self.frame_cost = width * height * 3 * 2  # the decoded BGR frame and its RGB copy

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
            if self._reconnect is None:
                return None  # end of file
            if not self._reopen():
                return None
        return None

    def _frame(self, bgr: np.ndarray) -> SourceFrame:
        if bgr.ndim == 2:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
        else:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
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
        delay = self._reconnect.initial
        attempt = 0
        self._capture.release()
        while not self._closed.is_set():
            attempt += 1
            log.warning("source %s broke; reconnect attempt %d in %.1fs", self.display, attempt, delay)
            if self._closed.wait(delay):
                return False
            try:
                self._capture = self._open()
                self._after_gap = True
                log.info("source %s reconnected after %d attempt(s)", self.display, attempt)
                return True
            except SourceError:
                if self._reconnect.attempts and attempt >= self._reconnect.attempts:
                    log.error("source %s gave up after %d attempts", self.display, attempt)
                    return False
                delay = min(delay * 2, self._reconnect.maximum)
        return False

    def stop(self) -> None:
        """A blocked read returns within the read timeout and no reconnect follows (any thread)."""
        self._closed.set()

    def close(self) -> None:
        self._closed.set()
        self._capture.release()
