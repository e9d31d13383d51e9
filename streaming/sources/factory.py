"""``open_source(uri)``: one entry point for every kind of frame source."""

from __future__ import annotations

from pathlib import Path

from streaming.errors import SourceError
from streaming.sources.base import FrameSource
from streaming.sources.opencv_source import OpenCVSource, Reconnect, is_network_uri


def open_source(uri: str, reconnect: Reconnect | None = None, open_timeout: float = 10.0) -> FrameSource:
    """Open a frame source.

    - ``0``, ``1``, ``webcam:0``: a local camera by index;
    - ``rtsp://...``, ``http(s)://...`` (MJPEG/HLS), ``rtmp://...``: a network stream, with reconnects;
    - ``synthetic:street?seed=7&w=480&h=360&fps=15&...``: the procedural street scene with labels;
    - anything else: a video file path (``file:`` prefix optional).

    No policy is applied here (a client reads what its user names); a server checks a source with
    ``server.source_policy.SourcePolicy`` first. ``open_timeout`` bounds opening and each read.
    """
    text = uri.strip()
    if text.isascii() and text.isdigit() and len(text) <= 4:
        return OpenCVSource(int(text), reconnect, open_timeout)
    if text.lower().startswith("webcam:"):
        index = text.split(":", 1)[1] or "0"
        if not (index.isascii() and index.isdigit() and len(index) <= 4):
            raise SourceError(f"webcam index must be a small number: {uri!r}")
        return OpenCVSource(int(index), reconnect, open_timeout)
    if text.lower().startswith("synthetic:"):
        from streaming.sources.synthetic_source import SyntheticSource

        try:
            return SyntheticSource(text)
        except ValueError as exc:
            raise SourceError(str(exc)) from exc
    if is_network_uri(text):
        return OpenCVSource(text, reconnect, open_timeout)
    path = Path(text.removeprefix("file:"))
    if not path.is_file():
        raise SourceError(f"no such video file: {path}")
    return OpenCVSource(str(path), reconnect, open_timeout)
