"""Memory and compute bounded per request and per stream, whatever size or cost a client asks for."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np
from websockets.sync.client import connect

from tests.server.conftest import ServerFactory, make_frame
from tests.server.test_ws import recv_json, recv_type

JPEG = {"Content-Type": "image/jpeg"}
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakRss:
    """Samples this process's RSS (the server runs in it) every 20 ms while in the block."""

    def __enter__(self) -> PeakRss:
        self.start = rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss())

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5.0)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1e6


def test_an_8192_square_png_keeps_rss_growth_bounded(start_server: ServerFactory) -> None:
    live = start_server(max_frame_bytes=16 * 1024 * 1024, max_frame_pixels=8192 * 8192)
    image = np.zeros((8192, 8192, 3), np.uint8)
    image[::64] = 200
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert ok
    png = buf.tobytes()
    del image, buf
    with live.client() as client, PeakRss() as peak:
        r = client.post("/v1/segment", content=png, headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    # the decoded frame alone is 201 MB; float maps at the frame's size would be several GB
    assert peak.growth_mb < 1024, f"RSS grew {peak.growth_mb:.0f} MB for one request"


def test_window_is_costed_against_the_stream_budget(start_server: ServerFactory) -> None:
    # tiny model: 4 classes at 32x48 in float32; window K costs K x 5 x 32 x 48 x 4 B = K x 30 KiB
    live = start_server(max_stream_buffer_bytes=300 * 1024, max_buffer_bytes=700 * 1024)
    with live.client() as client:
        r = client.post("/v1/streams/big/frames", content=make_frame(), headers=JPEG, params={"window": 64})
        assert r.status_code == 422 and "max_stream_buffer_bytes" in r.json()["error"]["message"]
        assert client.get("/v1/streams/big").status_code == 404  # refused before a session was made
        pulled = {"source": "synthetic:street?w=64&h=48", "window": 64}
        assert client.post("/v1/streams", json=pulled).status_code == 422
        for i in range(3):  # 3 x 6 x 30 KiB = 540 KiB fit in 700 KiB
            r = client.post(f"/v1/streams/ok{i}/frames", content=make_frame(), headers=JPEG, params={"window": 6})
            assert r.status_code == 200, r.text
        r = client.post("/v1/streams/ok3/frames", content=make_frame(), headers=JPEG, params={"window": 6})
        assert r.status_code == 503 and "max_buffer_bytes" in r.json()["error"]["message"]
        r = client.post("/v1/streams/ok0/frames", content=make_frame(), headers=JPEG, params={"window": 64})
        assert r.status_code == 422  # reconfiguring an existing stream is costed too
    with connect(f"{live.ws_url}/v1/streams/ok1/ws") as ws:
        recv_json(ws)
        ws.send('{"type": "config", "window": 64}')
        recv_json(ws)
        ws.send(make_frame())
        error = recv_type(ws, "error")
        assert error["code"] == "invalid_parameters" and "max_stream_buffer_bytes" in error["message"]
        with live.client() as client:
            assert client.get("/v1/streams/ok1").json()["config"]["window"] == 6


def test_decoded_frames_are_bounded_before_decoding(start_server: ServerFactory) -> None:
    live = start_server(max_decoded_bytes=1024 * 1024, max_frame_pixels=2000 * 2000, max_frame_bytes=8_000_000)
    big = make_frame(size=(1000, 1000), fmt=".png")  # 3 MB once decoded
    with live.client() as client:
        r = client.post("/v1/segment", content=big, headers={"Content-Type": "image/png"})
        assert r.status_code == 503 and "max_decoded_bytes" in r.json()["error"]["message"]
        assert client.post("/v1/segment", content=make_frame(), headers=JPEG).status_code == 200
    assert live.runtime.frame_memory.peak < 1024 * 1024
    deadline = time.monotonic() + 5
    while live.runtime.frame_memory.used and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.runtime.frame_memory.used == 0  # every decoded frame released its reservation


def test_rest_frames_are_admitted_before_their_body_is_decoded(start_server: ServerFactory, tiny_loader: Any) -> None:
    frame = make_frame(size=(200, 200))
    frame_bytes = 200 * 200 * 3
    live = start_server(load=tiny_loader(delay=0.3), queue_size=3, max_rest_per_stream=2)

    def post(stream: str) -> tuple[int, str]:
        with live.client() as client:
            r = client.post(f"/v1/streams/{stream}/frames", content=frame, headers=JPEG)
            return r.status_code, r.text

    with ThreadPoolExecutor(12) as pool:
        one_stream = list(pool.map(post, ["same"] * 6))
        many = list(pool.map(post, [f"s{i}" for i in range(10)]))
    codes = [c for c, _ in one_stream]
    assert codes.count(200) >= 2 and 503 in codes
    assert any("max_rest_per_stream" in t for c, t in one_stream if c == 503)
    assert 503 in [c for c, _ in many] and 200 in [c for c, _ in many]
    # never more decoded frames alive than REST frames admitted (queue_size)
    assert live.runtime.frame_memory.peak <= 3 * frame_bytes


def test_samples_above_the_cap_are_refused(start_server: ServerFactory) -> None:
    live = start_server(max_samples=8)
    with live.client() as client:
        r = client.post("/v1/segment", content=make_frame(), headers=JPEG, params={"mode": "bnn", "samples": 256})
        assert r.status_code == 422 and "max_samples" in r.text
        bnn9 = {"mode": "bnn", "samples": 9}
        r = client.post("/v1/streams/b/frames", content=make_frame(), headers=JPEG, params=bnn9)
        assert r.status_code == 422 and "max_samples" in r.text
        r = client.post("/v1/segment", content=make_frame(), headers=JPEG, params={"mode": "bnn", "samples": 8})
        assert r.status_code == 200


def test_an_expensive_stream_does_not_starve_a_cheap_one(start_server: ServerFactory, tiny_loader: Any) -> None:
    """Two clients each ask for 32-sample bnn; a third stream's single-pass frame, sent after they
    started, is answered before either (a FIFO worker would run both first)."""
    live = start_server(load=tiny_loader(delay=0.05), max_samples=32, mc_chunk=4, max_batch=1)
    segmenter = live.runtime.worker.segmenter
    warm = len(segmenter.batch_sizes)  # the warm-up's passes
    finished: list[str] = []
    lock = threading.Lock()

    def post(name: str, path: str, params: dict[str, Any]) -> None:
        with live.client() as client:
            r = client.post(path, content=make_frame(), headers=JPEG, params=params)
        assert r.status_code == 200, r.text
        with lock:
            finished.append(name)

    heavy = {"mode": "bnn", "samples": 32}
    threads = [threading.Thread(target=post, args=(f"bnn{i}", "/v1/segment", heavy)) for i in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(segmenter.batch_sizes) < warm + 2 and time.monotonic() < deadline:  # both bnn frames have started
        time.sleep(0.01)
    cheap = threading.Thread(target=post, args=("dnn", "/v1/streams/cheap/frames", {"mode": "dnn"}))
    cheap.start()
    for t in [*threads, cheap]:
        t.join(60)
    assert sorted(finished) == ["bnn0", "bnn1", "dnn"]
    assert finished[0] == "dnn", finished
