"""Readiness, idle eviction, model errors, overload and graceful shutdown — each with its own server."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
from websockets.sync.client import connect

from tests.server.conftest import ServerFactory, make_frame
from tests.server.test_ws import close_code, recv_json, recv_type

JPEG = {"Content-Type": "image/jpeg"}


def test_readyz_waits_for_the_model_and_warm_up(start_server: ServerFactory, tiny_loader: Any) -> None:
    live = start_server(load=tiny_loader(load_delay=1.0), wait_ready=False)
    with live.client() as client:
        assert client.get("/healthz").status_code == 200
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json()["error"]["code"] == "not_ready"
        r = client.post("/v1/segment", content=make_frame(), headers=JPEG)
        assert r.status_code == 503 and r.json()["error"]["code"] == "not_ready"
        assert live.runtime.worker.ready.wait(20)
        assert client.get("/readyz").status_code == 200


def test_a_model_that_cannot_load_stays_unready(start_server: ServerFactory, tmp_path: Any) -> None:
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    live = start_server(model=str(broken), wait_ready=False)
    deadline = time.monotonic() + 20
    while live.runtime.worker.failure is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with live.client() as client:
        r = client.get("/readyz")
    assert r.status_code == 503 and "model failed to load" in r.json()["error"]["message"]


def test_idle_streams_are_evicted(start_server: ServerFactory) -> None:
    live = start_server(idle_timeout=0.3)
    with live.client() as client, connect(f"{live.ws_url}/v1/streams/kept/ws", max_size=None) as ws:
        recv_json(ws)
        assert client.post("/v1/streams/idle/frames", content=make_frame(), headers=JPEG).status_code == 200
        deadline = time.monotonic() + 10
        while client.get("/v1/streams/idle").status_code != 404:
            assert time.monotonic() < deadline, "idle stream not evicted"
            time.sleep(0.05)
        time.sleep(0.5)
        assert client.get("/v1/streams/kept").status_code == 200  # an open WebSocket keeps its stream
        ws.send(make_frame())
        assert recv_type(ws, "result")["frame_index"] == 0


def test_a_model_error_fails_that_batch_and_the_worker_survives(
    start_server: ServerFactory, tiny_loader: Any
) -> None:
    import cv2
    import numpy as np

    black = cv2.imencode(".png", np.zeros((40, 40, 3), np.uint8))[1].tobytes()
    live = start_server(load=tiny_loader(fail_on_black=True))
    with live.client() as client:
        r = client.post("/v1/streams/err/frames", content=black, headers={"Content-Type": "image/png"})
        assert r.status_code == 500 and r.json()["error"]["code"] == "model_error"
        ok = client.post("/v1/streams/err/frames", content=make_frame(), headers=JPEG)
        assert ok.status_code == 200 and ok.json()["frame_index"] == 0
        assert "vqseg_model_errors_total 1.0" in client.get("/metrics").text
    with connect(f"{live.ws_url}/v1/streams/err-ws/ws", max_size=None) as ws:
        recv_json(ws)
        ws.send(black)
        assert recv_json(ws)["code"] == "model_error"
        ws.send(make_frame())
        assert recv_type(ws, "result")["frame_index"] == 0


def test_overload_is_503_and_batches_mix_streams(start_server: ServerFactory, tiny_loader: Any) -> None:
    load = tiny_loader(delay=0.3)
    live = start_server(load=load, queue_size=2, max_batch=4, max_wait_ms=50)
    statuses: list[int] = []
    codes: list[str] = []

    def post(i: int) -> None:
        with httpx.Client(base_url=live.url, timeout=30) as client:
            r = client.post(f"/v1/streams/ov{i}/frames", content=make_frame(i), headers=JPEG)
            statuses.append(r.status_code)
            if r.status_code != 200:
                codes.append(r.json()["error"]["code"])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert 503 in statuses and 200 in statuses, statuses
    assert set(codes) == {"overloaded"}
    segmenter = live.runtime.worker.segmenter
    assert max(segmenter.batch_sizes) >= 2  # frames of different streams shared a forward pass


def test_graceful_shutdown_answers_in_flight_frames_and_closes_with_1001(
    start_server: ServerFactory, tiny_loader: Any
) -> None:
    live = start_server(load=tiny_loader(delay=0.3))
    with connect(f"{live.ws_url}/v1/streams/bye/ws", max_size=None) as ws, connect(
        f"{live.ws_url}/v1/streams/bye/subscribe", max_size=None
    ) as watcher:
        recv_json(ws)
        recv_json(watcher)
        segmenter = live.runtime.worker.segmenter
        segmenter.batch_sizes.clear()
        ws.send(make_frame())
        deadline = time.monotonic() + 10
        while not segmenter.batch_sizes:  # wait until the frame is inside the (slow) forward pass
            assert time.monotonic() < deadline
            time.sleep(0.01)
        started = time.monotonic()
        stopper = threading.Thread(target=live.stop)
        stopper.start()
        result = recv_type(ws, "result")
        assert result["frame_index"] == 0
        assert close_code(ws) == 1001
        assert close_code(watcher) == 1001
        stopper.join(20)
        assert not stopper.is_alive() and time.monotonic() - started < 15
    assert json.dumps(result)  # the in-flight frame was answered before the close
