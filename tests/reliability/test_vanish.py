"""Clients that vanish: the TCP connection ends (FIN or RST) without a WebSocket close frame, with a
frame in flight or halfway through a message. The server frees the session at once and goes on."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time

import pytest
from websockets.sync.client import connect

from tests.reliability.conftest import Sentinel
from tests.server.conftest import LiveServer, make_frame
from tests.server.test_ws import recv_json, recv_type


def ws_frame(payload: bytes, opcode: int = 0x2) -> bytes:
    """One masked client frame (RFC 6455), FIN set."""
    mask = os.urandom(4)
    n = len(payload)
    header = bytes([0x80 | opcode])
    if n < 126:
        header += bytes([0x80 | n])
    elif n < 65536:
        header += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        header += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def raw_ws(live: LiveServer, stream_id: str) -> socket.socket:
    """A hand-made WebSocket connection (so that it can end without a close frame); hello is read."""
    host, port = live.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /v1/streams/{stream_id}/ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    assert data.startswith(b"HTTP/1.1 101"), data[:100]
    rest = data.split(b"\r\n\r\n", 1)[1]
    deadline = time.monotonic() + 10
    while b"hello" not in rest:  # the hello message (text frame)
        assert time.monotonic() < deadline
        rest += sock.recv(65536)
    return sock


def wait_gone(live: LiveServer, stream_id: str, timeout: float = 10.0) -> float:
    started = time.monotonic()
    with live.client() as client:
        while client.get(f"/v1/streams/{stream_id}").status_code != 404:
            assert time.monotonic() - started < timeout, f"session {stream_id} not freed"
            time.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.parametrize("how", ["fin", "rst", "half_message"])
def test_a_vanished_client_frees_its_session(fuzz_server: LiveServer, sentinel: Sentinel, how: str) -> None:
    stream_id = f"vanish-{how}"
    with connect(f"{fuzz_server.ws_url}/v1/streams/bystander-{how}/ws", max_size=None) as other:
        recv_json(other)
        sock = raw_ws(fuzz_server, stream_id)
        frame = ws_frame(make_frame(5))
        sock.sendall(frame)
        with fuzz_server.client() as client:
            assert client.get(f"/v1/streams/{stream_id}").json()["connections"] == 1
        if how == "half_message":
            sock.sendall(ws_frame(make_frame(6))[:200])  # the connection dies inside a message
        else:
            sock.sendall(frame)  # in flight while the client vanishes
        if how == "rst":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        sock.close()
        assert wait_gone(fuzz_server, stream_id) < 10.0
        other.send(make_frame(1))  # a neighbour on the same server is not disturbed
        assert recv_type(other, "result")["frame_index"] == 0
    sentinel.check()


def test_many_vanished_clients_leave_nothing_behind(fuzz_server: LiveServer) -> None:
    with fuzz_server.client() as client:
        before = {s["stream_id"] for s in client.get("/v1/streams").json()["streams"]}
    for i in range(10):
        sock = raw_ws(fuzz_server, f"vanish-many-{i}")
        sock.sendall(ws_frame(make_frame(i)) + ws_frame(json.dumps({"type": "ping"}).encode(), 0x1))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    deadline = time.monotonic() + 10
    with fuzz_server.client() as client:
        while {s["stream_id"] for s in client.get("/v1/streams").json()["streams"]} - before:
            assert time.monotonic() < deadline, "sessions of vanished clients not freed"
            time.sleep(0.05)
