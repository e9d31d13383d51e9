"""Protocol 2 end to end: binary result frames over the WebSocket and REST, watchers of such a stream,
bad options refused, and a huge frame answered within the output budget."""

from __future__ import annotations

import json
import time
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.server.conftest import LiveServer, ServerFactory, decode_png, make_frame
from vqseg_client.wire import unpack

NETWORK = (32, 48)  # the tiny model's output (height, width)


def recv(ws: ClientConnection, timeout: float = 20.0) -> str | bytes:
    return ws.recv(timeout=timeout)


def next_binary(ws: ClientConnection, timeout: float = 20.0) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    deadline = time.monotonic() + timeout
    while True:
        message = recv(ws, max(0.01, deadline - time.monotonic()))
        if isinstance(message, bytes):
            return unpack(message)
        assert json.loads(message)["type"] != "error", message


def test_binary_results_at_the_network_resolution(shared_server: LiveServer) -> None:
    url = f"{shared_server.ws_url}/v1/streams/p2-a/ws?protocol=2&maps=mutual_info,confidence&map_dtype=uint8"
    with connect(url, max_size=None) as ws:
        hello = json.loads(recv(ws))
        assert hello["protocol"] == 2 and hello["results"] == {"size": "network", "map_dtype": "uint8"}
        results = []
        for i in range(4):
            ws.send(json.dumps({"type": "frame", "timestamp": 10.0 + i / 15}))
            ws.send(make_frame(i))
            results.append(next_binary(ws))
    header, arrays = results[-1]
    assert header["type"] == "result" and header["protocol"] == 2 and header["frame_index"] == 3
    assert (header["width"], header["height"]) == (80, 60) and (header["map_height"], header["map_width"]) == NETWORK
    assert header["buffer_len"] == 4 and header["maps"] == ["mutual_info", "confidence"]
    assert set(arrays) == {"labels", "entropy", "mutual_info", "confidence"}
    assert all(a.shape == NETWORK and a.dtype == np.uint8 for a in arrays.values())
    assert int(arrays["labels"].max()) < 4 and int(arrays["confidence"].min()) >= 255 // 4 - 1  # max P >= 1/C
    assert header["summary"]["mean_uncertainty"] == pytest.approx(float(arrays["entropy"].mean()) / 255, abs=0.01)
    assert {"decode", "forward", "blend", "maps", "encode", "total"} <= set(header["timing_ms"])


def test_frame_size_on_request_and_watchers_get_version_1(shared_server: LiveServer) -> None:
    base = shared_server.ws_url + "/v1/streams/p2-b"
    with connect(f"{base}/ws?protocol=2&size=frame", max_size=None) as ws:
        assert json.loads(recv(ws))["protocol"] == 2
        with connect(f"{base}/subscribe", max_size=None) as watcher:
            assert json.loads(recv(watcher))["type"] == "hello"
            ws.send(make_frame(1))
            header, arrays = next_binary(ws)
            watched = json.loads(recv(watcher))
    assert arrays["labels"].shape == (60, 80) and arrays["entropy"].dtype == np.float16
    assert watched["type"] == "result" and watched["protocol"] == 1 and watched["frame_index"] == header["frame_index"]
    assert (decode_png(watched["labels"]) == arrays["labels"]).all()  # the same argmax at the same size
    assert np.abs(decode_png(watched["uncertainty"]) / 65535 - arrays["entropy"].astype(np.float32)).max() < 1e-3


@pytest.mark.parametrize("query", ["protocol=3", "protocol=2&size=huge", "protocol=2&map_dtype=float64"])
def test_bad_result_options_are_refused_with_4422(shared_server: LiveServer, query: str) -> None:
    with connect(f"{shared_server.ws_url}/v1/streams/p2-bad/ws?{query}", max_size=None) as ws:
        with pytest.raises(Exception):  # noqa: B017 - the connection closes
            recv(ws, 10)
        assert ws.close_code == 4422


def test_rest_binary_format(shared_server: LiveServer) -> None:
    with shared_server.client() as http:
        response = http.post("/v1/segment?format=binary&maps=confidence", content=make_frame(2),
                             headers={"Content-Type": "image/jpeg"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/vnd.vqseg.result"
    header, arrays = unpack(response.content)
    assert header["protocol"] == 2 and arrays["labels"].shape == NETWORK and arrays["confidence"].dtype == np.float16


def test_a_huge_frame_gets_maps_within_the_output_budget(start_server: ServerFactory) -> None:
    """An 8192x8192 frame (the default max_frame_pixels) with version 1: the maps come at the largest
    size within max_output_pixels, not at 8192x8192 (which took gigabytes of float maps before)."""
    live = start_server(max_frame_bytes=4_000_000, max_output_pixels=256 * 256)
    image = np.zeros((8192, 8192, 3), np.uint8)
    image[:, 4096:] = 200
    ok, png = cv2.imencode(".png", image)
    assert ok
    with httpx.Client(base_url=live.url, timeout=120.0) as http:
        response = http.post("/v1/segment", content=png.tobytes(), headers={"Content-Type": "image/png"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["width"], body["height"]) == (8192, 8192) and (body["map_width"], body["map_height"]) == (256, 256)
    assert decode_png(body["labels"]).shape == (256, 256) and decode_png(body["uncertainty"]).shape == (256, 256)
