"""The procedural street scene as a frame source (``synthetic:street?seed=7&...``)."""

from __future__ import annotations

from streaming.sources.base import FrameSource, SourceFrame
from synthetic import RENDER_BYTES_PER_PIXEL, StreetSceneVideo, parse_synthetic_uri


class SyntheticSource(FrameSource):
    """Frames and exact labels from the generator; timestamps are ``index / fps`` (a file-like source)."""

    live = False

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.config = parse_synthetic_uri(uri)
        self.fps = self.config.fps
        self.frame_size = (self.config.width, self.config.height)
        self.frame_cost = self.config.width * self.config.height * RENDER_BYTES_PER_PIXEL
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

    def stop(self) -> None:
        self._closed = True
