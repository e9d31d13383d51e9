"""WebSocket push streams end to end: real uvicorn, the ``websockets`` client, real OpenCV frames."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.server.conftest import LiveServer, ServerFactory, decode_png, make_frame


def recv_json(ws: ClientConnection, timeout: float = 20.0) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))


def recv_type(ws: ClientConnection, kind: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        msg = recv_json(ws, max(0.01, deadline - time.monotonic()))
        if msg["type"] == kind:
            return msg


def close_code(ws: ClientConnection, timeout: float = 10.0) -> int | None:
    """Read until the server closes; return its close code."""
    deadline = time.monotonic() + timeout
    with pytest.raises(ConnectionClosed):
        while time.monotonic() < deadline:
            ws.recv(timeout=max(0.01, deadline - time.monotonic()))
    return ws.close_code


@pytest.fixture
def live(shared_server: LiveServer) -> LiveServer:
    return shared_server


def test_hello_results_and_state_across_frames(live: LiveServer) -> None:
    with connect(f"{live.ws_url}/v1/streams/ws-a/ws?maps=confidence", max_size=None) as ws:
        hello = recv_json(ws)
        assert hello["type"] == "hello" and hello["protocol"] == 1 and hello["stream_id"] == "ws-a"
        assert hello["model"]["num_classes"] == 4 and hello["config"]["mode"] == "vqbnn"
        assert hello["maps"] == ["confidence"] and hello["limits"]["max_frame_bytes"] == 200_000
        results = []
        for i in range(8):
            ws.send(json.dumps({"type": "frame", "timestamp": 100.0 + i / 15}))
            ws.send(make_frame(i))
            results.append(recv_type(ws, "result"))  # one at a time: nothing is dropped
    assert [r["frame_index"] for r in results] == list(range(8))
    assert [r["buffer_len"] for r in results] == [1, 2, 3, 4, 5, 6, 6, 6]
    assert [r["timestamp"] for r in results] == pytest.approx([100.0 + i / 15 for i in range(8)])
    assert all(r["dropped"] == 0 and r["stream_id"] == "ws-a" for r in results)
    assert decode_png(results[-1]["maps"]["confidence"]).shape == (60, 80)
    assert decode_png(results[-1]["labels"]).shape == (60, 80)


def test_control_messages_config_reset_ping(live: LiveServer) -> None:
    with connect(f"{live.ws_url}/v1/streams/ws-ctl/ws?mode=vqdnn&window=3", max_size=None) as ws:
        assert recv_json(ws)["config"]["window"] == 3
        for _ in range(4):
            ws.send(make_frame())
            last = recv_type(ws, "result")
        assert (last["buffer_len"], last["mode"]) == (3, "vqdnn")
        ws.send(json.dumps({"type": "reset"}))
        assert recv_json(ws)["type"] == "reset"
        ws.send(make_frame())
        assert recv_type(ws, "result")["buffer_len"] == 1
        ws.send(json.dumps({"type": "config", "mode": "dnn", "maps": ["mutual_info"]}))
        ack = recv_json(ws)
        assert ack["type"] == "config" and ack["config"]["mode"] == "dnn" and ack["maps"] == ["mutual_info"]
        ws.send(make_frame())
        result = recv_type(ws, "result")
        assert result["mode"] == "dnn" and set(result["maps"]) == {"mutual_info"}
        ws.send(json.dumps({"type": "ping", "id": 7}))
        pong = recv_json(ws)
        assert pong["type"] == "pong" and pong["id"] == 7
        ws.send(json.dumps({"type": "config", "tau": -3}))
        error = recv_json(ws)
        assert error["type"] == "error" and error["code"] == "invalid_parameters"


def test_bad_frames_get_errors_and_the_stream_goes_on(live: LiveServer) -> None:
    with connect(f"{live.ws_url}/v1/streams/ws-bad/ws", max_size=None) as ws:
        recv_json(ws)
        ws.send(b"not an image at all")
        assert recv_json(ws)["code"] == "bad_image"
        ws.send(b"\xff\xd8\xff" + b"\x00" * 50)
        assert recv_json(ws)["code"] == "bad_image"
        ws.send(make_frame(size=(400, 400)))
        assert recv_json(ws)["code"] == "frame_too_large"
        ws.send(b"x" * 210_000)
        assert recv_json(ws)["code"] == "frame_too_large"
        ws.send(make_frame())
        result = recv_type(ws, "result")
        assert result["frame_index"] == 0 and result["type"] == "result"


def test_malformed_control_messages_close_with_4400(live: LiveServer) -> None:
    with connect(f"{live.ws_url}/v1/streams/ws-junk/ws", max_size=None) as ws:
        recv_json(ws)
        ws.send("{not json")
        assert recv_json(ws)["code"] == "malformed_message"
        ws.send(json.dumps({"type": "ping"}))  # a good one resets the count
        assert recv_json(ws)["type"] == "pong"
        for text in ["[]", "{}", '{"type": "dance"}', "nope", '{"type": 3}']:
            ws.send(text)
        assert close_code(ws) == 4400


@pytest.mark.parametrize(
    ("query", "code"), [("?mode=fast", 4422), ("?window=99", 4422), ("?maps=colour", 4422)]
)
def test_invalid_query_closes_with_4422(live: LiveServer, query: str, code: int) -> None:
    with connect(f"{live.ws_url}/v1/streams/ws-q/ws{query}", max_size=None) as ws:
        assert close_code(ws) == code
        assert ws.close_reason


def test_invalid_stream_id_closes_with_4422(live: LiveServer) -> None:
    with connect(f"{live.ws_url}/v1/streams/{'x' * 130}/ws", max_size=None) as ws:
        assert close_code(ws) == 4422


def test_disconnect_frees_the_session(live: LiveServer) -> None:
    with connect(f"{live.ws_url}/v1/streams/ws-gone/ws", max_size=None) as ws:
        recv_json(ws)
        ws.send(make_frame())
        recv_type(ws, "result")
        with live.client() as client:
            assert client.get("/v1/streams/ws-gone").json()["connections"] == 1
        ws.send(make_frame())  # in flight while the client vanishes
    with live.client() as client:
        deadline = time.monotonic() + 10
        while client.get("/v1/streams/ws-gone").status_code != 404:
            assert time.monotonic() < deadline, "session not freed"
            time.sleep(0.05)


def test_too_many_streams_closes_with_1013(start_server: ServerFactory) -> None:
    live = start_server(max_streams=1)
    with connect(f"{live.ws_url}/v1/streams/one/ws", max_size=None) as first:
        recv_json(first)
        with connect(f"{live.ws_url}/v1/streams/two/ws", max_size=None) as second:
            assert close_code(second) == 1013
            assert "stream limit" in (second.close_reason or "")
        first.send(make_frame())
        assert recv_type(first, "result")["frame_index"] == 0


def test_newest_frame_wins_under_a_fast_sender(start_server: ServerFactory, tiny_loader: Any) -> None:
    live = start_server(load=tiny_loader(delay=0.08))
    sent = 30
    with connect(f"{live.ws_url}/v1/streams/fast/ws?mode=vqbnn", max_size=None) as ws:
        recv_json(ws)
        for i in range(sent):
            ws.send(json.dumps({"type": "frame", "timestamp": i / 30}))
            ws.send(make_frame(i))
        results: list[dict[str, Any]] = []
        while not results or results[-1]["timestamp"] != pytest.approx((sent - 1) / 30):
            results.append(recv_type(ws, "result"))
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.5)  # nothing else comes
    assert len(results) < sent / 2, "a fast sender's stale frames must be dropped"
    assert [r["frame_index"] for r in results] == list(range(len(results)))
    stamps = [r["timestamp"] for r in results]
    assert stamps == sorted(stamps)  # in order, newest last
    assert results[-1]["dropped"] == sent - len(results)
    assert results[-1]["dropped"] > 0


def test_a_message_over_the_websocket_limit_closes_with_1009(live: LiveServer) -> None:
    with connect(f"{live.ws_url}/v1/streams/ws-huge/ws", max_size=None) as ws:
        recv_json(ws)
        ws.send(b"\xff\xd8\xff" + b"\x00" * 400_000)  # > max_frame_bytes (200 kB) + 64 KiB
        assert close_code(ws) == 1009
