"""Fuzzing the WebSocket protocol against a real server: sequences of malformed, unknown and absurd
control messages mixed with broken and good binary frames, hostile query strings and stream ids.
Every server message is a documented one, every close has a documented code, the server stays up
and the sentinel stream keeps its buffer."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.reliability.conftest import ERROR_CODES, SAFE_ID, Sentinel
from tests.reliability.test_fuzz_rest import numbers, path_tricks, queries, values
from tests.server.conftest import LiveServer, make_frame

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GOOD = make_frame(4, (24, 32))
SERVER_TYPES = {"hello", "result", "error", "config", "reset", "pong"}
CLOSE_CODES = {1000, 1008, 1009, 1013, 4400, 4422}
_ids = itertools.count()

json_values = st.recursive(st.one_of(st.none(), st.booleans(), numbers.filter(lambda v: not isinstance(v, str)),
                                     st.text(max_size=10)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                           max_leaves=6)
controls = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["config", "frame", "reset", "ping", "dance", "", "CONFIG"]), json_values)},
    optional={"mode": values, "tau": json_values, "window": json_values, "samples": st.integers(-5, 300),
              "clock": values, "max_gap": json_values, "maps": json_values, "timestamp": json_values,
              "id": json_values, "motion": json_values},
).map(json.dumps)
texts = st.one_of(controls, st.text(max_size=80), st.sampled_from(["", "null", "[]", "{}", '{"type": 3}', "{"]))
frames = st.one_of(st.just(GOOD), st.binary(max_size=300), st.just(GOOD[:100]), st.just(GOOD[:-20]),
                   st.just(b"\x89PNG\r\n\x1a\n" + bytes(40)))
messages = st.lists(st.one_of(texts, frames), min_size=1, max_size=8)


def check_message(text: str | bytes) -> dict[str, Any]:
    assert isinstance(text, str), "the server sends text messages only"
    message: dict[str, Any] = json.loads(text)
    assert message["type"] in SERVER_TYPES and message["protocol"] == 1, message
    if message["type"] == "error":
        assert message["code"] in ERROR_CODES and isinstance(message["message"], str), message
    return message


def drain_until_pong(ws: ClientConnection, marker: str, timeout: float = 20.0) -> bool:
    """Read and check every message up to our pong; False if the server closed the connection."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            message = check_message(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message["type"] == "pong" and message.get("id") == marker:
                return True
    except ConnectionClosed:
        assert ws.close_code in CLOSE_CODES, (ws.close_code, ws.close_reason)
        return False


@FUZZ
@given(sequence=messages)
def test_message_sequences(fuzz_server: LiveServer, sentinel: Sentinel, sequence: list[str | bytes]) -> None:
    with connect(f"{fuzz_server.ws_url}/v1/streams/fuzz-ws-{next(_ids)}/ws", max_size=None) as ws:
        assert check_message(ws.recv(timeout=20))["type"] == "hello"
        try:
            for item in sequence:
                ws.send(item)
            marker = uuid.uuid4().hex
            ws.send(json.dumps({"type": "ping", "id": marker}))
        except ConnectionClosed:  # closed with 4400 while we were still sending
            assert ws.close_code in CLOSE_CODES
            return
        if drain_until_pong(ws, marker):
            try:  # the stream still works after whatever came before (unless it is closing with 4400)
                ws.send(GOOD)
                deadline = time.monotonic() + 20
                while check_message(ws.recv(timeout=max(0.01, deadline - time.monotonic())))["type"] != "result":
                    pass
            except ConnectionClosed:
                assert ws.close_code == 4400, (ws.close_code, ws.close_reason)


@FUZZ
@given(stream_id=st.one_of(path_tricks, st.text(max_size=140)), query=queries)
def test_connect_with_hostile_ids_and_queries(fuzz_server: LiveServer, sentinel: Sentinel, stream_id: str,
                                               query: dict[str, str]) -> None:
    if stream_id == sentinel.stream_id:
        return
    url = f"{fuzz_server.ws_url}/v1/streams/{quote(stream_id, safe='')}/ws"
    if query:
        url += "?" + urlencode(query)
    try:
        with connect(url, max_size=None, open_timeout=20) as ws:
            first = ws.recv(timeout=20)
            hello = check_message(first)
            assert hello["type"] == "hello" and SAFE_ID.fullmatch(hello["stream_id"]) and hello["stream_id"] != ".."
    except InvalidStatus as exc:  # the path did not reach the route (an encoded '/', say)
        assert exc.response.status_code in (403, 404), exc.response.status_code
    except ConnectionClosed as exc:
        assert exc.rcvd is not None and exc.rcvd.code in (4422, 1013), exc.rcvd


def test_afterwards_the_sentinel_is_untouched(fuzz_server: LiveServer, sentinel: Sentinel) -> None:
    with fuzz_server.client() as client:
        streams = client.get("/v1/streams").json()["streams"]
    assert [s["stream_id"] for s in streams if s["connections"]] == []  # every fuzzing socket was freed
    sentinel.check()
