"""What a request must pass before the server works for it (issue 20): its Host (DNS rebinding), its
key (before any body is read or WebSocket accepted), a small cap on every non-frame body, small control
messages, a WebSocket peer that reads its pongs, and the answers and headers around all of that."""

from __future__ import annotations

import json
import socket
import time

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.reliability.test_connection_limits import LogRecords, raw, read_all
from tests.reliability.test_vanish import raw_ws, ws_frame
from tests.server.conftest import LiveServer, ServerFactory, make_frame
from tests.server.test_ws import close_code, recv_json, recv_type

JPEG = {"Content-Type": "image/jpeg"}


def exchange(live: LiveServer, request: bytes, body: bytes = b"") -> bytes:
    """Send a raw request (and ``body``, possibly less than it declares); the answer until the close."""
    sock = raw(live)
    sock.settimeout(10.0)
    sock.sendall(request + body)
    try:
        return read_all(sock)
    finally:
        sock.close()


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def error_code(answer: bytes) -> str:
    return str(json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"])


# ---- 3. the key before the body; every non-frame body capped ---------------------------------------
def test_no_key_is_refused_before_the_body_is_read(start_server: ServerFactory) -> None:
    live = start_server(api_key="k-1")
    for method, path in (("POST", "/v1/streams"), ("DELETE", "/v1/streams/x"), ("POST", "/v1/streams/x/frames"),
                         ("PUT", "/v1/model")):
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: 200000000\r\n\r\n").encode()
        answer = exchange(live, head, b"{" * 1000)  # 200 MB declared, 1 kB sent: answered at once
        assert status(answer) == 401 and error_code(answer) == "unauthorized", answer[:200]


def test_non_frame_bodies_are_capped(start_server: ServerFactory) -> None:
    live = start_server()
    head = b"POST /v1/streams HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    declared = head + b"Content-Length: 1000000\r\n\r\n"
    answer = exchange(live, declared)
    assert status(answer) == 413 and error_code(answer) == "body_too_large"
    chunked = head + b"Transfer-Encoding: chunked\r\n\r\n"
    chunk = b" " * 30_000
    answer = exchange(live, chunked, (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 4)
    assert status(answer) == 413 and error_code(answer) == "body_too_large"
    with live.client() as client:
        deep = client.post("/v1/streams", content="[" * 20_000 + "]" * 20_000,
                           headers={"Content-Type": "application/json"})
        assert deep.status_code == 422 and deep.json()["error"]["code"] == "invalid_parameters"
        big = client.request("DELETE", "/v1/streams/none", content=b"x" * 100_000)
        assert big.status_code == 413
        ok = client.post("/v1/streams", json={"source": "synthetic:street?w=64&h=48", "stream_id": "small"})
        assert ok.status_code == 201
        assert client.post("/v1/segment", content=make_frame(), headers=JPEG).status_code == 200  # frames: own cap


# ---- 5. pong floods ------------------------------------------------------------------------------------
def test_a_client_that_pings_and_never_reads_is_not_buffered(start_server: ServerFactory) -> None:
    live = start_server()
    sock = raw_ws(live, "flood")
    sock.setblocking(False)
    ping = ws_frame(b"p" * 125, opcode=0x9)
    batch = ping * 512
    sent, pending, deadline = 0, b"", time.monotonic() + 10.0
    while sent < 24 * 1024 * 1024 and time.monotonic() < deadline:
        pending = pending or batch
        try:
            n = sock.send(pending)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        sent, pending = sent + n, pending[n:]
    time.sleep(1.0)
    buffered = [p.transport.get_write_buffer_size() for p in live.server.server_state.connections]
    sock.close()
    assert buffered and max(buffered) <= 4 * 1024 * 1024, (buffered, sent)
    with live.client() as client:
        assert client.get("/healthz").status_code == 200


# ---- 6. control messages -------------------------------------------------------------------------------
def test_control_messages_and_echoed_ids_are_capped(start_server: ServerFactory) -> None:
    live = start_server()
    with connect(f"{live.ws_url}/v1/streams/ctl/ws", max_size=None) as ws:
        assert recv_json(ws)["type"] == "hello"
        ws.send(json.dumps({"type": "ping", "id": "x" * 1000}))
        error = recv_type(ws, "error")
        assert error["code"] == "invalid_parameters" and "x" * 200 not in json.dumps(error)
        ws.send(json.dumps({"type": "ping", "id": "short"}))
        assert recv_type(ws, "pong")["id"] == "short"
        ws.send(json.dumps({"type": "ping", "id": "y" * 1_000_000}))
        assert close_code(ws) == 1009
    with connect(f"{live.ws_url}/v1/streams/ctl2/ws", max_size=None) as pusher:
        recv_json(pusher)
        with connect(f"{live.ws_url}/v1/streams/ctl2/subscribe", max_size=None) as watcher:
            recv_json(watcher)
            watcher.send(json.dumps({"type": "ping", "id": "z" * 1_000_000}))
            assert close_code(watcher) == 1009


# ---- 7. DNS rebinding: only names the server answers to --------------------------------------------------
def test_unknown_host_names_are_refused_everywhere(start_server: ServerFactory) -> None:
    live = start_server(allowed_hosts=["cams.example", "*.site.example"])
    port = live.url.rsplit(":", 1)[1]
    with live.client() as client:
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "cams.example.evil"):
            r = client.get("/v1/streams", headers={"Host": host})
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_host", host
            r = client.post("/v1/streams", json={"source": "synthetic:street?w=64&h=48"},
                            headers={"Host": host, "Origin": f"http://{host}"})
            assert r.status_code == 400, host
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"cams.example:{port}", "a.site.example", "[::1]",
                     "app.localhost"):
            assert client.get("/v1/streams", headers={"Host": host}).status_code == 200, host
        own = {"Host": f"cams.example:{port}", "Origin": f"http://cams.example:{port}"}
        assert client.post("/v1/streams/own/frames", content=make_frame(), headers={**JPEG, **own}).status_code == 200
        assert client.get("/healthz", headers={"Host": "10.0.0.7:8000"}).status_code == 200
        assert client.get("/readyz", headers={"Host": "pod-name"}).status_code == 200  # probes use any name
    request = (f"GET /v1/streams/rebound/ws HTTP/1.1\r\nHost: evil.example:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               f"Origin: http://evil.example:{port}\r\n\r\n").encode()
    assert status(exchange(live, request)) == 400


# ---- 11. headers -------------------------------------------------------------------------------------------
def test_security_headers_no_cdn_page_and_exactly_one_host(start_server: ServerFactory) -> None:
    live = start_server()
    with live.client() as client:
        page = client.get("/")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "cdn" not in csp
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["referrer-policy"] == "no-referrer"
        assert client.get("/v1/streams").headers["x-content-type-options"] == "nosniff"
        assert client.get("/docs").status_code == 404
    assert status(exchange(live, b"GET /healthz HTTP/1.1\r\n\r\n")) == 400
    assert status(exchange(live, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n")) == 400
    docs = start_server(docs=True)
    with docs.client() as client:
        assert client.get("/docs").status_code == 200


# ---- 13. shutdown past its timeout; invalid UTF-8 ---------------------------------------------------------
def test_a_request_cut_by_the_shutdown_timeout_gets_json_503(start_server: ServerFactory) -> None:
    live = start_server(shutdown_timeout=1.0)
    sock = raw(live)
    sock.sendall(b"POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
                 b"Content-Length: 100000\r\n\r\n" + make_frame()[:500])  # the rest never comes
    time.sleep(0.3)
    live.server.should_exit = True  # what SIGTERM does
    answer = read_all(sock)
    sock.close()
    live.thread.join(20)
    assert status(answer) == 503 and error_code(answer) == "not_ready", answer[:300]


def test_invalid_utf8_text_closes_with_1007_without_a_traceback(start_server: ServerFactory) -> None:
    live = start_server()
    with LogRecords() as keep:
        for _ in range(3):
            sock = raw_ws(live, "utf8")
            sock.sendall(ws_frame(b'{"type": "ping", "id": "\xff\xfe"}', opcode=0x1))
            sock.settimeout(10.0)
            data = read_all(sock)
            sock.close()
            assert b"\x88" in data and b"\x03\xef" in data  # a close frame with 1007
    assert not [r for r in keep.records if r.exc_info], [r.getMessage() for r in keep.records]
    with live.client() as client:
        assert client.get("/healthz").status_code == 200


def test_a_rejected_websocket_handshake_is_not_accepted(start_server: ServerFactory) -> None:
    live = start_server(api_key="k-2")
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{live.ws_url}/v1/streams/nokey/ws", max_size=None)
    assert refused.value.response.status_code == 401
    assert socket is not None  # raw sockets above
