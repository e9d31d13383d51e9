"""Frame sources behind one ``open_source(uri)``: webcam, RTSP/HTTP, video files, synthetic scenes."""

from streaming.sources.base import FrameSource, SourceFrame
from streaming.sources.factory import open_source

__all__ = ["FrameSource", "SourceFrame", "open_source"]
