"""vqseg-client: the camera-side SDK of vqseg (websockets, numpy and OpenCV only; no torch, no server).

    from vqseg_client import StreamClient, stream_results

``StreamClient`` (asyncio) and ``stream_results`` (plain code) push a source to ``vqseg serve`` and
yield one ``FrameResult`` per frame; ``ResultPainter`` draws them; ``open_source`` reads webcams, RTSP,
files (and ``synthetic:`` scenes where the vqseg repository's ``synthetic`` package is importable).
"""

from vqseg_client.client import Backoff, StreamClient, StreamClientError
from vqseg_client.feed import frames_from_arrays
from vqseg_client.render import ResultPainter, VideoWriter
from vqseg_client.result import ClientStats, FrameResult, decode_binary, decode_result
from vqseg_client.sources import FrameSource, SourceError, SourceFrame, open_source
from vqseg_client.sync import stream_results

__version__ = "0.1.0"

__all__ = [
    "Backoff",
    "ClientStats",
    "FrameResult",
    "FrameSource",
    "ResultPainter",
    "SourceError",
    "SourceFrame",
    "StreamClient",
    "StreamClientError",
    "VideoWriter",
    "decode_binary",
    "decode_result",
    "frames_from_arrays",
    "open_source",
    "stream_results",
]
