"""Host maps to what goes on the wire: the binary result frame (protocol 2), or 8/16-bit PNGs in base64
inside JSON (protocol 1), or overlay PNGs for people."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from server.errors import PROTOCOL
from server.frame_maps import HostMaps
from vqseg_client.drawing import heatmap, overlay, side_by_side
from vqseg_client.wire import PROTOCOL_BINARY, pack_payload

_PNG_FAST = [cv2.IMWRITE_PNG_COMPRESSION, 1]


def png_bytes(array: np.ndarray) -> bytes:
    """A grey PNG of a uint8 or uint16 (H, W) array, or an RGB PNG of (H, W, 3) uint8."""
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", array, _PNG_FAST)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def b64_png(array: np.ndarray) -> str:
    return base64.b64encode(png_bytes(array)).decode("ascii")


def b64_jpeg(image: np.ndarray, quality: int = 80) -> str:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return base64.b64encode(buf.tobytes()).decode("ascii")


def result_fields(host: HostMaps, extra: Sequence[str]) -> dict[str, Any]:
    """The image fields of a result: ``labels``, ``uncertainty`` and the ``maps`` asked for."""
    height, width = host.labels.shape
    fields: dict[str, Any] = {
        "labels": b64_png(host.labels),
        "uncertainty": b64_png(host.uncertainty),
        "map_width": width,
        "map_height": height,
        **summary_fields(host),
    }
    if extra:
        fields["maps"] = {name: b64_png(host.maps[name]) for name in extra}
    return fields


def summary_fields(host: HostMaps) -> dict[str, Any]:
    return {"summary": {"mean_uncertainty": round(host.mean_uncertainty, 6),
                        "low_confidence": round(host.low_confidence, 6)}}


def binary_result(header: dict[str, Any], host: HostMaps, extra: Sequence[str], timing_ms: dict[str, float]) -> bytes:
    """The protocol-2 binary result: JSON header + the device-packed arrays as they are."""
    height, width = host.labels.shape
    message = {"type": "result", "protocol": PROTOCOL_BINARY, **header, "map_width": width, "map_height": height,
               "maps": list(extra), **summary_fields(host),
               "timing_ms": {k: round(v, 3) for k, v in timing_ms.items()}}
    return pack_payload(message, host.entries, host.payload)


def result_text(header: dict[str, Any], fields: dict[str, Any], timing_ms: dict[str, float]) -> str:
    """The JSON text of a result message (``type`` and ``protocol`` first)."""
    message = {"type": "result", "protocol": PROTOCOL, **header, **fields}
    message["timing_ms"] = {k: round(v, 3) for k, v in timing_ms.items()}
    return json.dumps(message, separators=(",", ":"))


def with_frame(text: str, frame_b64: str) -> str:
    """``text`` (a result JSON object) with a ``frame`` field appended, without re-serialising."""
    return text[:-1] + ',"frame":"' + frame_b64 + '"}'


def fit_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` at (height, width) when it is larger (area interpolation), else as it is."""
    if image.shape[0] * image.shape[1] <= height * width:
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def overlay_png(image: np.ndarray, host: HostMaps, palette: Sequence[Sequence[int]]) -> bytes:
    """Frame | colour label overlay | uncertainty heat map, side by side, as an RGB PNG for people.

    The panels are drawn at the maps' size when the frame is larger (the maps were made within the
    output budget, a third of ``max_output_pixels`` for the three panels), never at the frame's."""
    image = fit_image(image, *host.labels.shape)
    uncertainty = host.uncertainty.astype(np.float32) / 65535.0
    size = (image.shape[1], image.shape[0])
    panel = side_by_side(
        [image, overlay(image, host.labels, palette), heatmap(uncertainty, size)],
        ["frame", "labels", f"uncertainty {host.mean_uncertainty:.3f}"],
    )
    return png_bytes(panel)
