"""What the streaming client hands back: one decoded result per frame, and the stream's running figures.

Protocol 2 (the default) sends each result as one binary message: a JSON header and raw arrays at the
network's output resolution (``decode_binary``). Protocol 1 sends JSON with base64 PNGs: an 8-bit label
map and 16-bit maps whose ``value / 65535`` is the map in [0, 1] (``decode_result``).
"""

from __future__ import annotations

import base64
import math
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from vqseg_client.wire import PROTOCOL_BINARY, PROTOCOL_JSON, unpack

PROTOCOL = PROTOCOL_BINARY  # what this client asks for by default
PROTOCOLS = (PROTOCOL_JSON, PROTOCOL_BINARY)


def decode_png(data: str) -> np.ndarray:
    """A base64 PNG (8- or 16-bit grey) to a ``(H, W)`` array of its own dtype."""
    raw = np.frombuffer(base64.b64decode(data), np.uint8)
    image = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError("result carries a map that is not a decodable PNG")
    return image


def decode_map(data: str) -> np.ndarray:
    """A base64 16-bit PNG map to float32 values in [0, 1]."""
    return decode_png(data).astype(np.float32) / 65535.0


@dataclass
class FrameResult:
    """One processed frame.

    ``labels`` is ``uint8 (h, w)`` class indices; ``uncertainty`` is the normalised predictive entropy
    ``H[P_t] / log C`` as ``float32 (h, w)`` in [0, 1]; ``maps`` holds the extra maps asked for.
    ``(h, w)`` is the size the server sent the maps at: the network's output resolution with protocol 2
    (unless the client asked for the frame's size), the frame's size (within the server's budget) with
    protocol 1. ``width``/``height`` are the frame's; ``labels_at``/``map_at`` upsample for display.
    ``latency_ms`` runs from the moment the client took the frame (before JPEG encoding) to the
    moment its result arrived. ``image`` is the RGB frame that was sent (None if the client did not
    send it itself, e.g. another connection on the same stream).
    """

    frame_index: int
    timestamp: float
    labels: np.ndarray
    uncertainty: np.ndarray
    maps: dict[str, np.ndarray]
    dropped: int
    buffer_len: int
    mode: str
    summary: dict[str, float]
    timing_ms: dict[str, float]
    width: int = 0
    height: int = 0
    latency_ms: float | None = None
    source_index: int | None = None
    image: np.ndarray | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def labels_at(self, width: int, height: int) -> np.ndarray:
        """The label map resized (nearest) to ``width`` x ``height``."""
        if self.labels.shape[:2] == (height, width):
            return self.labels
        return cv2.resize(self.labels, (width, height), interpolation=cv2.INTER_NEAREST)

    def map_at(self, values: np.ndarray, width: int, height: int) -> np.ndarray:
        """A float map (``uncertainty`` or one of ``maps``) resized bilinearly to ``width`` x ``height``."""
        if values.shape[:2] == (height, width):
            return values
        return cv2.resize(values, (width, height), interpolation=cv2.INTER_LINEAR)


def unit_float(values: np.ndarray) -> np.ndarray:
    """A wire map (uint8, 16-bit or float16) as float32 in [0, 1]."""
    if values.dtype == np.uint8:
        return values.astype(np.float32) / 255.0
    if values.dtype == np.uint16:
        return values.astype(np.float32) / 65535.0
    return values.astype(np.float32)


def decode_binary(data: bytes | bytearray | memoryview) -> FrameResult:
    """A protocol-2 binary result to a ``FrameResult`` (maps as float32 in [0, 1])."""
    header, arrays = unpack(data)
    if "labels" not in arrays or "entropy" not in arrays:
        raise ValueError("binary result without labels or entropy arrays")
    asked = list(header.get("maps") or [])
    maps = {name: unit_float(a) for name, a in arrays.items() if name not in ("labels", "entropy") or name in asked}
    maps.pop("labels", None)
    return _result(header, np.array(arrays["labels"]), unit_float(arrays["entropy"]), maps)


def _result(message: dict[str, Any], labels: np.ndarray, uncertainty: np.ndarray,
            maps: dict[str, np.ndarray]) -> FrameResult:
    return FrameResult(
        frame_index=int(message.get("frame_index", 0)),
        timestamp=float(message.get("timestamp", 0.0)),
        labels=labels,
        uncertainty=uncertainty,
        maps=maps,
        dropped=int(message.get("dropped", 0)),
        buffer_len=int(message.get("buffer_len", 1)),
        mode=str(message.get("mode", "")),
        summary={k: float(v) for k, v in (message.get("summary") or {}).items()},
        timing_ms={k: float(v) for k, v in (message.get("timing_ms") or {}).items()},
        width=int(message.get("width", labels.shape[1])),
        height=int(message.get("height", labels.shape[0])),
        raw={k: v for k, v in message.items() if k not in ("labels", "uncertainty", "maps", "frame")},
    )


def decode_result(message: dict[str, Any]) -> FrameResult:
    """A protocol-1 ``result`` message to a ``FrameResult`` (latency and image are filled in by the client)."""
    return _result(
        message,
        decode_png(message["labels"]),
        decode_map(message["uncertainty"]),
        {name: decode_map(data) for name, data in (message.get("maps") or {}).items()},
    )


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``values``; NaN when there are none."""
    return float(np.percentile(values, q)) if values else math.nan


@dataclass
class ClientStats:
    """Running figures of one client stream.

    ``sent``: frames sent; ``results``: results received; ``dropped``: frames the server dropped
    (newest-frame-wins, its own count); ``skipped``: live frames the client never sent because the
    frames in flight were at their bound; ``refused``: frames answered with an ``error`` message;
    ``reconnects``: connections re-opened after the server connection dropped.
    """

    sent: int = 0
    results: int = 0
    dropped: int = 0
    skipped: int = 0
    refused: int = 0
    lost: int = 0
    reconnects: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    _window: list[float] = field(default_factory=list, repr=False)

    def record(self, result: FrameResult) -> None:
        self.results += 1
        self.dropped = max(self.dropped, result.dropped)
        if result.latency_ms is not None:
            self.latencies_ms.append(result.latency_ms)
        now = time.monotonic()
        self._window.append(now)
        while self._window and now - self._window[0] > 2.0:
            self._window.pop(0)

    @property
    def elapsed(self) -> float:
        return (self.finished if self.finished is not None else time.monotonic()) - self.started

    @property
    def fps(self) -> float:
        """Results per second over the whole run."""
        return self.results / self.elapsed if self.elapsed > 0 else math.nan

    @property
    def live_fps(self) -> float:
        """Results per second over the last two seconds."""
        if len(self._window) < 2:
            return math.nan
        span = self._window[-1] - self._window[0]
        return (len(self._window) - 1) / span if span > 0 else math.nan

    def latency_ms(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (NaN, e.g. no latencies yet, becomes None)."""
        mean = float(np.mean(self.latencies_ms)) if self.latencies_ms else math.nan
        return {
            "frames_sent": self.sent,
            "results": self.results,
            "dropped": self.dropped,
            "skipped": self.skipped,
            "refused": self.refused,
            "lost": self.lost,
            "reconnects": self.reconnects,
            "seconds": _number(self.elapsed, 3),
            "fps": _number(self.fps, 3),
            "latency_ms": {
                "p50": _number(self.latency_ms(50), 2),
                "p99": _number(self.latency_ms(99), 2),
                "mean": _number(mean, 2),
            },
        }


def _number(value: float, digits: int) -> float | None:
    return None if math.isnan(value) else round(value, digits)
