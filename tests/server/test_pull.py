"""Server-pulled sources and watchers: POST /v1/streams, /subscribe, DELETE; added and removed live."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from websockets.sync.client import connect

from tests.server.conftest import LiveServer, decode_png, make_frame
from tests.server.test_ws import close_code, recv_json, recv_type

SCENE = "synthetic:street?seed=3&w=64&h=48&fps=20"


@pytest.fixture
def live(shared_server: LiveServer) -> LiveServer:
    return shared_server


def test_pulled_synthetic_source_fans_out_to_watchers(live: LiveServer) -> None:
    with live.client() as client:
        r = client.post("/v1/streams", json={"source": SCENE, "stream_id": "cam-syn", "window": 4})
        assert r.status_code == 201, r.text
        info = r.json()
        assert info["kind"] == "pull" and info["source"] == SCENE and info["config"]["window"] == 4
        url = f"{live.ws_url}/v1/streams/cam-syn/subscribe"
        with connect(url + "?frame=1", max_size=None) as a, connect(url, max_size=None) as b:
            hello = recv_json(a)
            assert hello["type"] == "hello" and hello["kind"] == "pull" and hello["source"] == SCENE
            recv_json(b)
            ra = [recv_type(a, "result") for _ in range(3)]
            rb = recv_type(b, "result")
            assert all(r["stream_id"] == "cam-syn" for r in ra)
            assert "frame" in ra[0] and "frame" not in rb
            frame = cv2.imdecode(np.frombuffer(__import__("base64").b64decode(ra[0]["frame"]), np.uint8), 1)
            assert frame.shape == (48, 64, 3)
            assert decode_png(ra[0]["labels"]).shape == (48, 64)
            indices = [r["frame_index"] for r in ra]
            assert indices == sorted(indices) and ra[-1]["buffer_len"] >= 1
            listed = client.get("/v1/streams").json()["streams"]
            assert any(s["stream_id"] == "cam-syn" and s["state"] == "running" for s in listed)
            assert client.get("/v1/streams/cam-syn").json()["subscribers"] == 2
            assert client.delete("/v1/streams/cam-syn").status_code == 204
            end = recv_type(a, "end")
            assert end["reason"] == "stream deleted"
            assert close_code(a) == 1000
        assert client.get("/v1/streams/cam-syn").status_code == 404


def test_pulled_file_source_ends_and_can_loop(live: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    for i in range(6):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    with live.client() as client:
        r = client.post("/v1/streams", json={"source": str(path), "stream_id": "clip"})
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 15
        # the reader ends once it has submitted the last frame, which may still be in the worker then
        while (info := client.get("/v1/streams/clip").json())["state"] != "ended" or info["frames"] < 1:
            assert time.monotonic() < deadline, info
            time.sleep(0.05)
        assert info["frames"] + info["dropped"] <= 6
        with connect(f"{live.ws_url}/v1/streams/clip/subscribe", max_size=None) as ws:
            recv_json(ws)
            assert recv_type(ws, "end")["reason"] == "source ended"
        client.delete("/v1/streams/clip")
        r = client.post("/v1/streams", json={"source": str(path), "stream_id": "clip-loop", "loop": True})
        assert r.status_code == 201
        deadline = time.monotonic() + 15
        while client.get("/v1/streams/clip-loop").json()["frames"] < 8:  # more frames than the file has
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert client.get("/v1/streams/clip-loop").json()["state"] == "running"
        assert client.delete("/v1/streams/clip-loop").status_code == 204


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"source": "/no/such/video.mp4"}, 422, "bad_source"),
        ({"source": "synthetic:street?bogus=1"}, 422, "bad_source"),
        ({"source": SCENE, "mode": "turbo"}, 422, "invalid_parameters"),
        ({"source": SCENE, "stream_id": "bad/id"}, 422, "invalid_parameters"),
        ({"source": ""}, 422, "invalid_parameters"),
        ({"source": SCENE, "colour": "red"}, 422, "invalid_parameters"),
    ],
)
def test_bad_pull_requests(live: LiveServer, body: dict[str, Any], status: int, code: str) -> None:
    with live.client() as client:
        r = client.post("/v1/streams", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


def test_duplicate_stream_id_is_409(live: LiveServer) -> None:
    with live.client() as client:
        client.post("/v1/streams/taken/frames", content=make_frame(), headers={"Content-Type": "image/jpeg"})
        r = client.post("/v1/streams", json={"source": SCENE, "stream_id": "taken"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "stream_exists"
        client.delete("/v1/streams/taken")


def test_subscribe_to_unknown_stream_closes_with_4404(live: LiveServer) -> None:
    with connect(f"{live.ws_url}/v1/streams/ghost/subscribe", max_size=None) as ws:
        assert close_code(ws) == 4404


def test_watchers_can_follow_a_pushed_stream(live: LiveServer) -> None:
    with connect(f"{live.ws_url}/v1/streams/pushed/ws", max_size=None) as pusher:
        recv_json(pusher)
        with connect(f"{live.ws_url}/v1/streams/pushed/subscribe?frame=1", max_size=None) as watcher:
            recv_json(watcher)
            pusher.send(make_frame())
            own = recv_type(pusher, "result")
            seen = recv_type(watcher, "result")
            assert seen["frame_index"] == own["frame_index"] == 0 and "frame" in seen
            watcher.send(json.dumps({"type": "ping", "id": "w"}))
            assert recv_type(watcher, "pong")["id"] == "w"
