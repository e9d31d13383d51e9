"""An RTSP camera that disappears and comes back: the GStreamer RTSP server process is killed and a
new one started on the same port. The server-pulled stream reconnects with backoff, resumes, and
its ring buffer restarts after the gap (the first frame after it is blended alone)."""

from __future__ import annotations

import json
import signal
import threading
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.client.conftest import gstreamer_rtsp_missing, start_rtsp, stop_process
from tests.server.conftest import ServerFactory
from vqseg_client.local_server import free_port

pytestmark = pytest.mark.rtsp


def wait_for(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def test_rtsp_source_disappears_and_comes_back(start_server: ServerFactory) -> None:
    reason = gstreamer_rtsp_missing()
    if reason:
        pytest.skip(reason)
    port = free_port()
    args = ["--live", "--port", str(port), "--size", "160x120", "--fps", "10"]
    camera, url = start_rtsp(args)
    live = start_server(max_gap=1.0, pull_sources=f"rtsp://127.0.0.1:{port}")  # a loopback camera: listed
    results: list[dict[str, Any]] = []
    watching = threading.Event()
    try:
        with live.client() as client:
            r = client.post("/v1/streams", json={"source": url, "stream_id": "gate", "mode": "vqbnn"})
            assert r.status_code == 201, r.text

            def watch() -> None:
                with connect(f"{live.ws_url}/v1/streams/gate/subscribe", max_size=None) as ws:
                    watching.set()
                    try:
                        while True:
                            message = json.loads(ws.recv(timeout=90))
                            if message["type"] == "result":
                                results.append(message)
                    except (ConnectionClosed, TimeoutError):
                        return

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            assert watching.wait(10)

            def info() -> dict[str, Any]:
                return dict(client.get("/v1/streams/gate").json())

            wait_for("frames before the fault", lambda: info()["frames"] >= 8, 60)
            before = info()
            camera.send_signal(signal.SIGKILL)  # the camera vanishes: no RTSP TEARDOWN
            camera.wait(5)
            time.sleep(2.0)
            stalled = info()["frames"]
            time.sleep(1.0)
            assert info()["frames"] <= stalled + 1, "frames kept coming from a dead camera"
            camera, _ = start_rtsp(args)  # back on the same port
            after = wait_for("frames after the camera came back",
                             lambda: (i := info())["frames"] >= stalled + 8 and i, 90)
            assert after["state"] == "running" and after["resets"] > before["resets"]
            client.delete("/v1/streams/gate")
            watcher.join(10)
    finally:
        stop_process(camera)
    indices = [r["frame_index"] for r in results]
    assert indices == sorted(indices) and len(results) >= 10
    gap = max(range(1, len(results)), key=lambda i: results[i]["timestamp"] - results[i - 1]["timestamp"])
    assert results[gap]["timestamp"] - results[gap - 1]["timestamp"] > 2.0  # the outage
    assert results[gap - 1]["buffer_len"] > 1 and results[gap]["buffer_len"] == 1  # the buffer restarted
    assert results[-1]["buffer_len"] > 1  # and fills again
