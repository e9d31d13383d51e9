"""The smaller findings of issue 20's attack, each as a class: stream ownership by transport, credentials
in query strings, IPv6 forms that embed IPv4 and FFmpeg's redirects, unknown parameters, watchers'
memory, and the lingering close bounded by time. Real uvicorn servers on 127.0.0.1."""

from __future__ import annotations

import http.server
import ipaddress
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from websockets.sync.client import connect

from server.source_policy import SourcePolicy, SourceRefused, is_public
from tests.reliability.test_connection_limits import raw, read_all
from tests.reliability.test_pull_policy import Listener, listener, post
from tests.server.conftest import LiveServer, ServerFactory, make_frame
from tests.server.test_ws import close_code, recv_json, recv_type
from vqseg_client.redact import redact

__all__ = ["listener"]
JPEG = {"Content-Type": "image/jpeg"}


# ---- 8. a stream belongs to the transport that created it -----------------------------------------
def test_a_pulled_stream_takes_no_pushed_frames_resets_or_settings(start_server: ServerFactory) -> None:
    live = start_server()
    assert post(live, "synthetic:street?w=64&h=48&fps=5", stream_id="cam")[0] == 201
    with live.client() as client:
        r = client.post("/v1/streams/cam/frames", content=make_frame(), headers=JPEG, params={"window": 2})
        assert r.status_code == 409 and r.json()["error"]["code"] == "stream_exists"
        with connect(f"{live.ws_url}/v1/streams/cam/ws?window=2", max_size=None) as ws:
            assert close_code(ws) == 1008
        info = client.get("/v1/streams/cam").json()
        assert info["kind"] == "pull" and info["config"]["window"] == 6 and info["connections"] == 0


def test_a_websocket_on_a_rest_stream_does_not_end_it(start_server: ServerFactory) -> None:
    live = start_server()
    with live.client() as client:
        for i in range(3):
            r = client.post("/v1/streams/rest/frames", content=make_frame(i), headers=JPEG, params={"window": 4})
            assert r.status_code == 200
        with connect(f"{live.ws_url}/v1/streams/rest/ws", max_size=None) as ws:
            assert recv_json(ws)["type"] == "hello"
        time.sleep(0.3)
        info = client.get("/v1/streams/rest").json()
        assert info["frames"] == 3 and info["buffer_len"] == 3
        with connect(f"{live.ws_url}/v1/streams/wsmade/ws", max_size=None) as ws:  # a WebSocket's own: ends
            assert recv_json(ws)["type"] == "hello"
        deadline = time.monotonic() + 10
        while client.get("/v1/streams/wsmade").status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.get("/v1/streams/wsmade").status_code == 404


# ---- 9. credentials in query strings --------------------------------------------------------------
@pytest.mark.parametrize("name", ["pwd", "password", "user", "token", "key", "%70assword", "%6Bey", "API_KEY"])
def test_credential_query_values_are_redacted_after_decoding(name: str) -> None:
    shown = redact(f"rtsp://10.0.0.5/cam?channel=1&{name}=hunter2&subtype=0")
    assert "hunter2" not in shown and "channel=1" in shown and "subtype=0" in shown


def test_query_credentials_never_shown_or_logged(start_server: ServerFactory, listener: Listener) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.error", "uvicorn.access")]
    for logger in loggers:
        logger.addHandler(keep)
    try:
        live = start_server(pull_sources=f"rtsp://127.0.0.1:{listener.port}", pull_timeout=1.0, api_key="k-9",
                            log_level="info")
        source = f"rtsp://127.0.0.1:{listener.port}/cam?user=bob&pwd=hunter2&%74oken=tok3n"
        with live.client(headers={"X-API-Key": "k-9"}) as client:
            assert client.post("/v1/streams", json={"source": source, "stream_id": "q"}).status_code == 201
            listed = client.get("/v1/streams").text + client.get("/v1/streams/q").text
        with connect(f"{live.ws_url}/v1/streams/q/subscribe?%6Bey=k-9", max_size=None) as watcher:
            hello = recv_json(watcher)
        time.sleep(0.3)
    finally:
        for logger in loggers:
            logger.removeHandler(keep)
    text = "\n".join(r.getMessage() for r in records)
    for secret in ("hunter2", "tok3n", "k-9", "bob"):
        assert secret not in listed and secret not in str(hello["source"]) and secret not in text, secret


# ---- 10. IPv6 that embeds IPv4; FFmpeg told what the policy assumes ---------------------------------------
EMBEDDED_LOOPBACK = ["::ffff:127.0.0.1", "::127.0.0.1", "2002:7f00:1::1", "64:ff9b::7f00:1", "64:ff9b:1::a00:1",
                     "2001:0:4136:e378:8000:63bf:80ff:fffe", "::ffff:10.0.0.1", "2002:a9fe:a9fe::1"]


@pytest.mark.parametrize("address", EMBEDDED_LOOPBACK)
def test_ipv6_forms_embedding_a_private_ipv4_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    with pytest.raises(SourceRefused):
        SourcePolicy("rtsp://*,http://*").check(f"rtsp://[{address}]:554/cam")


def test_embedded_loopback_is_refused_by_a_server_and_never_connected(
    start_server: ServerFactory, listener: Listener
) -> None:
    live = start_server(pull_sources="rtsp://*,http://*")
    for address in EMBEDDED_LOOPBACK[:4]:
        status, body = post(live, f"rtsp://[{address}]:{listener.port}/cam")
        assert status == 422 and body["error"]["code"] == "bad_source", (address, body)
    assert "rtsp_transport;tcp" in os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"]
    assert listener.count() == 0


class _Redirect(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.target)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def redirecting(listener: Listener) -> Iterator[int]:
    handler = type("Redirect", (_Redirect,), {"target": f"http://127.0.0.1:{listener.port}/secret.mjpg"})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(5)
    server.server_close()


def test_ffmpeg_does_not_follow_redirects_to_where_the_policy_never_looked(
    start_server: ServerFactory, listener: Listener, redirecting: int
) -> None:
    live = start_server(pull_sources=f"http://127.0.0.1:{redirecting}", pull_timeout=2.0)
    status, body = post(live, f"http://127.0.0.1:{redirecting}/cam.mjpg", stream_id="redir")
    assert status == 201, body
    time.sleep(3.0)  # the reader opens (and retries) the allowed URL meanwhile
    with live.client() as client:
        client.delete("/v1/streams/redir")
    assert listener.count() == 0, "FFmpeg followed the redirect to a listener the policy never allowed"


# ---- 12. unknown parameters ----------------------------------------------------------------------------------
def test_unknown_query_parameters_are_422_everywhere(start_server: ServerFactory) -> None:
    live = start_server()
    with live.client() as client:
        for path in ("/v1/segment", "/v1/streams/typo/frames"):
            r = client.post(path, content=make_frame(), headers=JPEG, params={"windw": 3})
            assert r.status_code == 422 and "windw" in r.json()["error"]["message"], path
        assert client.post("/v1/streams/typo/frames", content=make_frame(), headers=JPEG,
                           params={"window": 3, "format": "json"}).status_code == 200
    with connect(f"{live.ws_url}/v1/streams/typo2/ws?windw=3", max_size=None) as ws:
        assert close_code(ws) == 4422
    with connect(f"{live.ws_url}/v1/streams/typo/subscribe?fram=1", max_size=None) as ws:
        assert close_code(ws) == 4422


# ---- 14. watchers that never read --------------------------------------------------------------------------
def silent_watcher(live: LiveServer, stream_id: str) -> socket.socket:
    """A watcher that completes its handshake and then never reads (a tiny receive buffer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", int(live.url.rsplit(":", 1)[1])))
    sock.sendall((f"GET /v1/streams/{stream_id}/subscribe?frame=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(1)
    assert data.startswith(b"HTTP/1.1 101"), data
    return sock


def test_watchers_that_never_read_stay_within_the_watcher_budget(start_server: ServerFactory) -> None:
    live = start_server(max_watcher_bytes=1024 * 1024, subscriber_queue=64)
    with connect(f"{live.ws_url}/v1/streams/big/ws?maps=confidence,mutual_info", max_size=None) as pusher:
        recv_json(pusher)
        watchers = [silent_watcher(live, "big") for _ in range(3)]
        for i in range(12):  # ~240 kB a result with its frame: 3 MB a watcher, past the kernel's buffers
            pusher.send(make_frame(i, (720, 960)))
            recv_type(pusher, "result")
        budget = live.runtime.directory.watcher_bytes
        used = budget.used
        for watcher in watchers:
            watcher.close()
    assert 0 < used <= budget.limit, used


# ---- 15. the lingering close is bounded by time, not bytes ----------------------------------------------------
def test_a_large_upload_refused_early_is_read_to_its_end(start_server: ServerFactory) -> None:
    live = start_server(max_frame_bytes=100_000)
    size, chunk = 48 * 1024 * 1024, b"\x00" * (1024 * 1024)  # more than the old 32 MiB byte cap
    sock = raw(live)
    sock.sendall((f"POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
                  f"Connection: close\r\nContent-Length: {size}\r\n\r\n").encode() + b"\xff\xd8\xff")
    for _ in range(size // len(chunk)):
        sock.sendall(chunk)  # the whole upload first (EPIPE here if the server stopped reading)
    answer = read_all(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert isinstance(live, LiveServer)
