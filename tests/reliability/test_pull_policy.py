"""Pulled sources behind VQSEG_PULL_SOURCES: no local files, no SSRF, no forged logs, no leaked
passwords, and a deleted stream's reader thread ends whatever its source does.

The SSRF tests start their own loopback listeners and check that no connection reaches them when
the policy refuses (and, as a control, that one does when the policy lists the address).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.server.conftest import LiveServer, ServerFactory


class Listener:
    """A TCP listener on 127.0.0.1 that records what connects and the first bytes each one sends;
    it never answers (a camera that accepts and then stays silent)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(2.0)
            try:
                self.requests.append(conn.recv(4096))
            except OSError:
                self.requests.append(b"")
            self.accepted.append(conn)

    def count(self) -> int:
        return len(self.accepted)

    def wait_for(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.count() < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.count() >= n

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    lis = Listener()
    yield lis
    lis.close()


def ingest_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("vqseg-ingest-") and t.is_alive()]


def wait_no_ingest(timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while ingest_threads() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not ingest_threads()


def post(live: LiveServer, source: str, **extra: object) -> tuple[int, dict]:
    with live.client() as client:
        r = client.post("/v1/streams", json={"source": source, **extra})
        return r.status_code, r.json()


def test_local_files_are_refused_by_default_and_say_nothing_about_existence(
    start_server: ServerFactory, tmp_path: Path
) -> None:
    clip = tmp_path / "private.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 24))
    writer.write(np.zeros((24, 32, 3), np.uint8))
    writer.release()
    live = start_server()  # the default policy: synthetic scenes only
    dotted = f"{tmp_path}/../{tmp_path.name}/private.avi"
    for source in (str(clip), str(tmp_path / "missing.avi"), f"file:{clip}", dotted, "file:///etc/passwd", "webcam:0"):
        status, body = post(live, source, loop=True)
        assert status == 422 and body["error"]["code"] == "bad_source", (source, body)
    # an existing and a missing file get the same answer
    assert post(live, str(clip)) == post(live, str(tmp_path / "missing.avi"))
    with live.client() as client:
        assert client.get("/v1/streams").json()["streams"] == []
    assert post(live, "synthetic:street?w=64&h=48")[0] == 201


def test_files_are_allowed_only_under_listed_directories(start_server: ServerFactory, tmp_path: Path) -> None:
    allowed = tmp_path / "videos"
    allowed.mkdir()
    clip = allowed / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 24))
    writer.write(np.zeros((24, 32, 3), np.uint8))
    writer.release()
    (tmp_path / "secret.avi").write_bytes(clip.read_bytes())
    (allowed / "link.avi").symlink_to(tmp_path / "secret.avi")
    live = start_server(pull_sources=f"file:{allowed}")
    assert post(live, str(clip))[0] == 201
    for escape in (f"{allowed}/../secret.avi", str(allowed / "link.avi"), "videos/clip.avi"):
        status, body = post(live, escape)
        assert status == 422 and "policy" in body["error"]["message"], escape


SSRF_SOURCES = [
    "rtsp://127.0.0.1:{port}/cam", "rtsps://127.0.0.1:{port}/cam", "http://127.0.0.1:{port}/video.mjpg",
    "https://127.0.0.1:{port}/x.m3u8", "rtsp://localhost:{port}/cam", "rtsp://[::ffff:127.0.0.1]:{port}/cam",
    "http://2130706433:{port}/", "tcp://127.0.0.1:{port}?listen=1", "udp://127.0.0.1:{port}", "rtmp://127.0.0.1:{port}/a",
    "rtsp://127.0.0.1:{port}/cam?udp", "http://[::1]:{port}/",
]


@pytest.mark.parametrize("rules", ["synthetic", "synthetic,rtsp://*,rtsps://*,http://*,https://*"])
def test_loopback_and_other_schemes_are_refused_and_never_connected(
    start_server: ServerFactory, listener: Listener, rules: str
) -> None:
    live = start_server(pull_sources=rules, pull_timeout=2.0)
    for template in SSRF_SOURCES:
        status, body = post(live, template.format(port=listener.port))
        assert status == 422 and body["error"]["code"] == "bad_source", (template, body)
    time.sleep(1.0)  # a connection would have been attempted at once
    assert listener.count() == 0
    assert not ingest_threads()


def test_a_listed_address_is_pulled_at_the_checked_address_with_its_password_hidden(
    start_server: ServerFactory, listener: Listener
) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    logging.getLogger().addHandler(handler)
    try:
        live = start_server(pull_sources=f"rtsp://localhost:{listener.port}", pull_timeout=2.0)
        status, info = post(live, f"rtsp://admin:s3cret@localhost:{listener.port}/cam", stream_id="cam")
        assert status == 201, info
        assert listener.wait_for(1, 15.0), "the listed source was never connected"
        # the name was resolved and checked by the server; FFmpeg was given the checked address
        assert b"127.0.0.1" in listener.requests[0] and b"localhost" not in listener.requests[0]
        with live.client() as client:
            listed = client.get("/v1/streams").json()["streams"]
            assert listed[0]["source"] == f"rtsp://admin:***@localhost:{listener.port}/cam"
            assert "s3cret" not in client.get("/v1/streams/cam").text
            assert client.delete("/v1/streams/cam").status_code == 204
        assert wait_no_ingest(15.0), "the deleted stream's reader thread still runs"
        seen = listener.count()
        time.sleep(3.0)
        assert listener.count() == seen, "the deleted stream kept reconnecting"
    finally:
        logging.getLogger().removeHandler(handler)
    text = "\n".join(r.getMessage() for r in records)
    assert "s3cret" not in text


def test_deleted_streams_with_silent_sources_leave_no_threads(start_server: ServerFactory, listener: Listener) -> None:
    live = start_server(pull_sources=f"rtsp://127.0.0.1:{listener.port}", pull_timeout=1.5, max_streams=2)
    for cycle in range(3):
        status, info = post(live, f"rtsp://127.0.0.1:{listener.port}/silent", stream_id=f"s{cycle}")
        assert status == 201, info
        assert listener.wait_for(cycle + 1, 15.0)
        with live.client() as client:
            assert client.delete(f"/v1/streams/s{cycle}").status_code == 204
        assert wait_no_ingest(15.0), f"cycle {cycle}: the reader thread did not end"


def test_server_stop_ends_a_reader_blocked_on_a_silent_source(start_server: ServerFactory, listener: Listener) -> None:
    live = start_server(pull_sources=f"rtsp://127.0.0.1:{listener.port}", pull_timeout=1.5)
    assert post(live, f"rtsp://127.0.0.1:{listener.port}/silent")[0] == 201
    assert listener.wait_for(1, 15.0)
    live.stop()
    assert wait_no_ingest(15.0)


@pytest.mark.parametrize("source", [
    "rtsp://127.0.0.1:{port}/a\r\nX-Injected: 1", "synthetic:street\nWARNING forged log line",
    "synthetic:street?w=64 &h=48", "rtsp://127.0.0.1:{port}/\x00", "99999999999999999999", "²",
    "webcam:99999999999999999999", "webcam:-1",
])
def test_control_characters_and_absurd_sources_are_422(
    start_server: ServerFactory, listener: Listener, source: str
) -> None:
    live = start_server(pull_sources=f"synthetic,webcam:*,rtsp://127.0.0.1:{listener.port}")
    status, body = post(live, source.format(port=listener.port))
    assert status == 422 and body["error"]["code"] in ("bad_source", "invalid_parameters"), body
    time.sleep(0.3)
    assert listener.count() == 0


def test_scene_and_frame_sizes_are_bounded_for_pulled_sources(start_server: ServerFactory) -> None:
    live = start_server(max_frame_pixels=64 * 48)
    status, body = post(live, "synthetic:street?w=8192&h=8192")
    assert status == 422 and "max_frame_pixels" in body["error"]["message"]
    assert post(live, "synthetic:street?w=64&h=48")[0] == 201
