"""Every budget on every path (issue 20, High): pulled sources pass the frame budgets of pushed frames,
scan bombs are refused on every decoding path, every output format stays within ``max_output_pixels``,
and watchers see a stream's frames whatever format their sender asked for. Real uvicorn on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import re
import struct
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from websockets.sync.client import connect

from server.decode import FrameLimits, decode_frame
from tests.server.conftest import LiveServer, ServerFactory, make_frame
from tests.server.test_ws import recv_json, recv_type
from vqseg_client.wire import unpack

JPEG = {"Content-Type": "image/jpeg"}


def pull(live: LiveServer, source: str, **extra: object) -> httpx.Response:
    with live.client() as client:
        return client.post("/v1/streams", json={"source": source, **extra})


def scan_bomb(scans: int = 300, size: int = 96) -> bytes:
    """A progressive JPEG whose last scan is repeated ``scans`` times (each one a pass over the image)."""
    image = np.random.default_rng(1).integers(0, 255, (size, size, 3), np.uint8)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert ok
    data = buf.tobytes()
    end = data.rindex(b"\xff\xd9")
    last = data[[m.start() for m in re.finditer(rb"\xff\xda", data)][-1] : end]
    return data[:end] + last * scans + b"\xff\xd9"


# ---- 1. pulled sources -----------------------------------------------------------------------------
@pytest.mark.parametrize("fps", ["inf", "1e300", "nan", "0", "-5", "1e-300", "61"])
def test_a_scene_rate_must_be_finite_positive_and_within_max_pull_fps(start_server: ServerFactory, fps: str) -> None:
    live = start_server(max_pull_fps=60)
    r = pull(live, f"synthetic:street?w=64&h=48&fps={fps}")
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_source", r.text
    with live.client() as client:
        assert client.get("/v1/streams").json()["streams"] == []


def test_a_scene_costing_more_memory_than_the_frame_budget_is_refused(start_server: ServerFactory) -> None:
    live = start_server(max_decoded_bytes=4 * 1024 * 1024)  # a 256² scene frame takes ~26 MB to render
    r = pull(live, "synthetic:street?w=256&h=256")
    assert r.status_code == 422 and "max_decoded_bytes" in r.json()["error"]["message"], r.text
    assert pull(live, "synthetic:street?w=64&h=48&fps=30").status_code == 201  # ~1.2 MB: fits


def test_a_file_is_read_no_faster_than_max_pull_fps(start_server: ServerFactory, tmp_path: Path) -> None:
    path = tmp_path / "fast.avi"  # a clip that claims 200 fps
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 200.0, (64, 48))
    for i in range(40):
        writer.write(np.full((48, 64, 3), i * 5, np.uint8))
    writer.release()
    live = start_server(pull_sources=f"file:{tmp_path}", max_pull_fps=5)
    started = time.monotonic()
    r = pull(live, str(path), stream_id="fast", loop=True)
    assert r.status_code == 201, r.text
    time.sleep(2.0)
    with live.client() as client:
        info = client.get("/v1/streams/fast").json()
        read = live.runtime.directory.get("fast").ingest.frames_read  # type: ignore[union-attr]
        elapsed = time.monotonic() - started
        client.delete("/v1/streams/fast")
    assert info["state"] == "running"
    assert 1 <= read <= elapsed * 5 + 2, (read, elapsed)  # at 200 fps it would be hundreds


def test_a_finite_scene_ends_and_its_stream_is_evicted(start_server: ServerFactory) -> None:
    live = start_server(idle_timeout=0.5)
    assert pull(live, "synthetic:street?w=64&h=48&fps=30&frames=3", stream_id="short").status_code == 201
    deadline = time.monotonic() + 30
    with live.client() as client:
        while client.get("/v1/streams/short").status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.get("/v1/streams/short").status_code == 404


# ---- 2. scan bombs on every decoding path ------------------------------------------------------------
def test_scan_bombs_are_refused_before_decoding_on_every_path(start_server: ServerFactory) -> None:
    live = start_server()
    bomb = scan_bomb()
    _, normal = cv2.imencode(".jpg", np.full((96, 96, 3), 90, np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    with live.client() as client:
        for path in ("/v1/segment", "/v1/streams/bombed/frames"):
            r = client.post(path, content=bomb, headers=JPEG)
            assert r.status_code == 413 and "scans" in r.json()["error"]["message"], r.text
            r = client.post(path, files={"frame": ("f.jpg", bomb, "image/jpeg")})
            assert r.status_code == 413 and "scans" in r.json()["error"]["message"], r.text
            assert client.post(path, content=normal.tobytes(), headers=JPEG).status_code == 200
    with connect(f"{live.ws_url}/v1/streams/bombed-ws/ws", max_size=None) as ws:
        assert recv_json(ws)["type"] == "hello"
        ws.send(bomb)
        error = recv_type(ws, "error")
        assert error["code"] == "frame_too_large" and "scans" in error["message"]
        ws.send(normal.tobytes())
        assert recv_type(ws, "result")["frame_index"] == 0


def test_png_metadata_never_reaches_the_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    _, png = cv2.imencode(".png", np.full((20, 30, 3), 7, np.uint8))
    data = png.tobytes()
    iend = data.rindex(b"IEND") - 4
    chunk = b"zTXt" + b"comment\x00\x00" + b"x" * 64
    ztxt = struct.pack(">I", len(chunk) - 4) + chunk + b"\x00\x00\x00\x00"
    seen: list[bytes] = []
    real = cv2.imdecode

    def spy(buf: np.ndarray, flags: int) -> np.ndarray:
        seen.append(buf.tobytes())
        return real(buf, flags)

    monkeypatch.setattr(cv2, "imdecode", spy)
    frame = decode_frame(data[:iend] + ztxt * 50 + data[iend:], FrameLimits(1_000_000, 10_000))
    assert frame.image.shape == (20, 30, 3) and b"zTXt" not in seen[0] and b"IDAT" in seen[0]


# ---- 4. every output format within max_output_pixels ---------------------------------------------------
def test_every_output_format_stays_within_max_output_pixels(start_server: ServerFactory) -> None:
    budget = 60 * 80
    live = start_server(max_output_pixels=budget)
    frame = make_frame(3, (240, 320))
    with live.client() as client:
        png = client.post("/v1/segment", params={"format": "png"}, content=frame, headers=JPEG)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        panel = cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_COLOR)
        assert panel.shape[0] * panel.shape[1] <= budget, panel.shape  # was 240 x 960
        result = client.post("/v1/segment", params={"maps": "confidence"}, content=frame, headers=JPEG).json()
        assert result["map_width"] * result["map_height"] <= budget
        binary = client.post("/v1/streams/out/frames", params={"format": "binary"}, content=frame, headers=JPEG)
        header, _ = unpack(binary.content)
        assert header["map_width"] * header["map_height"] <= budget


# ---- 14. watchers see REST frames in every format -----------------------------------------------------
def test_watchers_get_rest_frames_sent_as_png_or_binary_within_budget(start_server: ServerFactory) -> None:
    budget = 60 * 80
    live = start_server(max_output_pixels=budget)
    with live.client() as client:
        assert client.post("/v1/streams/watched/frames", content=make_frame(), headers=JPEG).status_code == 200
        with connect(f"{live.ws_url}/v1/streams/watched/subscribe?frame=1", max_size=None) as watcher:
            assert recv_json(watcher)["type"] == "hello"
            for fmt in ("png", "binary"):
                frame = make_frame(1, (240, 320))
                r = client.post("/v1/streams/watched/frames", params={"format": fmt}, content=frame, headers=JPEG)
                assert r.status_code == 200
                seen = recv_type(watcher, "result")
                assert seen["map_width"] * seen["map_height"] <= budget
                shown = cv2.imdecode(np.frombuffer(base64.b64decode(seen["frame"]), np.uint8), cv2.IMREAD_COLOR)
                assert shown.shape[0] * shown.shape[1] <= budget
    assert json.dumps(seen)  # a plain protocol-1 result
