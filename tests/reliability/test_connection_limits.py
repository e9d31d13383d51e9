"""The slow or hostile client: header/body/idle timeouts, the connection cap, WebSocket and watcher
caps, the lingering close after a 413, Origin checks, and keys kept out of the logs."""

from __future__ import annotations

import json
import logging
import socket
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.server.conftest import LiveServer, ServerFactory, make_frame
from tests.server.test_ws import close_code, recv_json

JPEG = {"Content-Type": "image/jpeg"}


def raw(live: LiveServer) -> socket.socket:
    port = int(live.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=15.0)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (bounded by the socket timeout)."""
    chunks = []
    while True:
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def test_silent_and_slow_header_sockets_are_answered_408_and_closed(start_server: ServerFactory) -> None:
    live = start_server(header_timeout=1.0)
    silent = raw(live)
    slow = raw(live)
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes its headers
    for sock in (silent, slow):
        answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
        sock.close()
    with live.client() as client:
        assert client.get("/healthz").status_code == 200


def test_a_stalled_body_is_cut_off(start_server: ServerFactory) -> None:
    live = start_server(body_timeout=1.0, max_frame_bytes=2_000_000)
    sock = raw(live)
    sock.sendall(b"POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
                 b"Content-Length: 1000000\r\n\r\n" + b"\xff\xd8\xff" + b"\x00" * 1000)
    answer = read_all(sock)  # the server closes: no 15 MiB body held open for ever
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:80]
    sock.close()


class LogRecords(logging.Handler):
    """Every record of the root logger and uvicorn's (which do not propagate) inside ``with``."""

    LOGGERS = ("", "uvicorn", "uvicorn.error")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> LogRecords:
        for name in self.LOGGERS:
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeHandler(self)


@pytest.mark.parametrize("path", ["/v1/segment", "/v1/streams/gone/frames"])
def test_a_body_cut_short_is_not_an_internal_error(start_server: ServerFactory, path: str) -> None:
    """A client gone mid-upload, or cut by the body timeout, is logged in one line: no traceback, no
    ``internal`` error counted (found by ``vqseg bench --hostile``: two tracebacks per stalled body)."""
    live = start_server(body_timeout=1.0, max_frame_bytes=2_000_000)
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
            "Content-Length: 1000000\r\n\r\n").encode() + b"\xff\xd8\xff" + b"\x00" * 1000
    with LogRecords() as keep:
        stalled, gone = raw(live), raw(live)
        stalled.sendall(head)
        gone.sendall(head)
        time.sleep(0.3)
        gone.close()  # away mid-upload
        assert read_all(stalled).startswith(b"HTTP/1.1 408")  # cut by the body timeout
        stalled.close()
        time.sleep(0.5)
    assert not [r for r in keep.records if r.exc_info or r.levelno >= logging.ERROR], \
        [r.getMessage() for r in keep.records]
    with live.client() as client:
        assert client.get("/healthz").status_code == 200
        metrics = client.get("/metrics").text
    assert 'vqseg_errors_total{code="internal"}' not in metrics, metrics


def test_idle_keep_alive_connections_are_closed(start_server: ServerFactory) -> None:
    live = start_server(keepalive_timeout=1.0)
    sock = raw(live)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = read_all(sock)  # returns once the server closes the idle connection
    assert answer.startswith(b"HTTP/1.1 200")
    sock.close()


def test_connections_past_the_cap_get_503(start_server: ServerFactory) -> None:
    live = start_server(max_connections=4, header_timeout=30.0)
    held = [raw(live) for _ in range(4)]
    time.sleep(0.3)
    extra = raw(live)
    assert read_all(extra).startswith(b"HTTP/1.1 503")
    extra.close()
    for sock in held:
        sock.close()
    time.sleep(0.3)
    with live.client() as client:
        assert client.get("/healthz").status_code == 200


def test_oversized_headers_get_431(start_server: ServerFactory) -> None:
    live = start_server(max_header_bytes=8192)
    sock = raw(live)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    assert read_all(sock).startswith(b"HTTP/1.1 431")
    sock.close()


def test_413_with_connection_close_is_read_not_reset(start_server: ServerFactory) -> None:
    live = start_server(max_frame_bytes=100_000)
    body = b"\xff\xd8\xff" + b"\x00" * 20_000_000  # far more than the socket buffers hold
    sock = raw(live)
    head = (f"POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    sock.sendall(head)
    sock.sendall(body)  # the server answers 413 early, then reads (and discards) all we send: no reset
    answer = read_all(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert b"frame_too_large" in answer


def test_websockets_per_stream_and_watchers_are_capped(start_server: ServerFactory) -> None:
    live = start_server(max_ws_per_stream=2, max_watchers_per_stream=2)
    url = f"{live.ws_url}/v1/streams/capped"
    with connect(f"{url}/ws") as a, connect(f"{url}/ws") as b:
        recv_json(a)
        recv_json(b)
        with connect(f"{url}/ws") as c:
            assert close_code(c) == 1013
        with connect(f"{url}/subscribe") as w1, connect(f"{url}/subscribe") as w2:
            recv_json(w1)
            recv_json(w2)
            with connect(f"{url}/subscribe") as w3:
                assert close_code(w3) == 1013


def test_foreign_origins_are_refused_for_websockets_and_form_posts(start_server: ServerFactory) -> None:
    live = start_server(cors_origins=["https://viewer.example"])
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{live.ws_url}/v1/streams/o/ws", origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    port = live.url.rsplit(":", 1)[1]
    for origin in (f"http://127.0.0.1:{port}", "https://viewer.example"):
        with connect(f"{live.ws_url}/v1/streams/o/ws", origin=origin) as ws:  # type: ignore[arg-type]
            assert recv_json(ws)["type"] == "hello"
    files = {"frame": ("f.jpg", make_frame(), "image/jpeg")}
    with live.client() as client:
        r = client.post("/v1/streams/csrf/frames", files=files, headers={"Origin": "https://evil.example"},
                        params={"window": 2})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert client.get("/v1/streams/csrf").status_code == 404  # nothing was created or reset
        assert client.request("DELETE", "/v1/streams/o", headers={"Origin": "null"}).status_code == 403
        assert client.post("/v1/streams/csrf/frames", files=files).status_code == 200  # no Origin: not a browser
        assert client.post("/v1/streams/csrf/frames", files=files,
                           headers={"Origin": "https://viewer.example"}).status_code == 200


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_keys_never_reach_the_access_log(start_server: ServerFactory) -> None:
    keep = _Keep()
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error")]
    live = start_server(api_key="hunter2-secret", log_level="info")
    for logger in loggers:
        logger.addHandler(keep)
    try:
        with connect(f"{live.ws_url}/v1/streams/k/ws?key=hunter2-secret&mode=dnn") as ws:
            assert recv_json(ws)["type"] == "hello"
        with httpx.Client(base_url=live.url) as client:
            client.get("/v1/streams", params={"key": "hunter2-secret"})
            client.get("/viewer/?stream=k&key=hunter2-secret")
        time.sleep(0.3)
    finally:
        for logger in loggers:
            logger.removeHandler(keep)
    text = "\n".join(keep.lines)
    assert "/v1/streams/k/ws" in text and "key=***" in text  # the lines are there, the key is not
    assert "hunter2-secret" not in text


def test_the_server_warns_when_exposed_without_a_key() -> None:
    from server.serving import warn_if_exposed
    from server.settings import Settings

    assert warn_if_exposed(Settings(), "0.0.0.0")
    assert not warn_if_exposed(Settings(api_key="k"), "0.0.0.0")
    assert not warn_if_exposed(Settings(), "127.0.0.1") and not warn_if_exposed(Settings(), "::1")


def test_strict_json_on_the_websocket(start_server: ServerFactory) -> None:
    live = start_server()
    with connect(f"{live.ws_url}/v1/streams/j/ws") as ws:
        recv_json(ws)
        ws.send('{"type": "ping", "id": NaN}')
        ws.send('{"type": "ping", "id": Infinity}')
        ws.send("[" * 30_000 + "]" * 30_000)  # RecursionError in a plain json.loads (and under the 64 KiB cap)
        ws.send('{"type": "ping", "id": 1}')
        replies = [ws.recv(timeout=20) for _ in range(4)]
        strict = [json.loads(r, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c))) for r in replies]
        assert [m["type"] for m in strict] == ["error", "error", "error", "pong"]
        assert all(m["code"] == "malformed_message" for m in strict[:3])
