"""Fuzzing the REST protocol against a real server: hostile stream ids (path tricks, odd characters,
long ids), absurd query values, wrong content types and broken bodies. Every answer is a 2xx or a
documented 4xx/503 JSON error — never a 500 — the server stays up, no stream with an unsafe id is
ever created, and the sentinel stream keeps its buffer throughout."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.conftest import ERROR_CODES, SAFE_ID, Sentinel
from tests.server.conftest import LiveServer, make_frame

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GOOD = make_frame(3, (24, 32))

path_tricks = st.sampled_from([
    "..", ".", "../sentinel", "..%2fsentinel", "%2e%2e", "sentinel/../x", "a/b", "a\\b", "~other", "x" * 129,
    "x" * 128, "cam 1", "cam%00", "ümlaut", "😀", "a;b", "a?b", "-", "_", "a.b-c_d", "%", "sentinel%20",
])
stream_ids = st.one_of(path_tricks, st.text(min_size=0, max_size=140),
                       st.from_regex(SAFE_ID, fullmatch=True).filter(lambda s: s not in (".", "..", "sentinel")))
numbers = st.one_of(st.integers(-(2**63), 2**63), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["nan", "inf", "-inf", "1e309", "0x10", "", " 3", "true"]))
values = st.one_of(numbers, st.text(max_size=20), st.sampled_from(["dnn", "bnn", "vqdnn", "vqbnn", "frames",
                                                                    "seconds", "confidence,mutual_info", "png"]))
names = st.sampled_from(["mode", "tau", "clock", "window", "samples", "max_gap", "motion", "spatial_sigma",
                         "timestamp", "maps", "format", "unknown", "key"])
queries = st.dictionaries(names, values.map(str), max_size=4)
bodies = st.one_of(st.just(GOOD), st.binary(max_size=512), st.just(b""), st.just(GOOD[: len(GOOD) // 2]),
                   st.just(b"\xff\xd8\xff" + bytes(250_000)))
content_types = st.one_of(st.sampled_from(["image/jpeg", "image/png", "application/octet-stream", "text/plain",
                                           "multipart/form-data", "multipart/form-data; boundary=x",
                                           "application/json", "image/gif", "", "image/jpeg; charset=\x7f"]),
                          st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30))


def check_answer(response: httpx.Response) -> None:
    assert response.status_code != 500 and response.status_code < 600, response.text
    if response.status_code == 400 and "json" not in response.headers.get("content-type", ""):
        return  # uvicorn's own refusal of a malformed HTTP request (e.g. a control character in a header)
    if response.status_code >= 400:
        assert response.status_code in (400, 403, 404, 405, 409, 413, 415, 422, 429, 503), response.status_code
        assert response.json()["error"]["code"] in ERROR_CODES, response.text


@FUZZ
@given(stream_id=stream_ids, query=queries, body=bodies, content_type=content_types)
def test_stream_frames(fuzz_server: LiveServer, sentinel: Sentinel, stream_id: str, query: dict[str, str],
                       body: bytes, content_type: str) -> None:
    path = f"/v1/streams/{quote(stream_id, safe='')}/frames"
    with fuzz_server.client() as client:
        try:
            response = client.post(path, content=body, params=query, headers={"Content-Type": content_type})
        except httpx.LocalProtocolError:
            return  # the client itself refuses to send this header
    check_answer(response)
    if response.status_code == 200:
        result: dict[str, Any] = response.json()
        assert SAFE_ID.fullmatch(result["stream_id"]) and result["stream_id"] == stream_id
        assert result["stream_id"] not in (".", "..")


@FUZZ
@given(query=queries, body=bodies, method=st.sampled_from(["POST", "GET", "PUT", "DELETE"]),
       path=st.sampled_from(["/v1/segment", "/v1/streams", "/v1/model", "/v1/streams/sentinel/x", "/v1//streams",
                             "/v1/streams/%2e%2e/frames", "/metrics", "/readyz"]))
def test_other_routes(fuzz_server: LiveServer, sentinel: Sentinel, query: dict[str, str], body: bytes, method: str,
                      path: str) -> None:
    with fuzz_server.client() as client:
        response = client.request(method, path, content=body, params=query, headers={"Content-Type": "image/jpeg"})
    check_answer(response)


@FUZZ
@given(body=st.one_of(st.dictionaries(st.sampled_from(["source", "stream_id", "mode", "window", "tau", "loop",
                                                       "extra"]), st.one_of(values, st.none(), st.booleans()),
                                      max_size=4),
                      st.lists(st.integers(), max_size=3), st.text(max_size=30)))
def test_pull_requests(fuzz_server: LiveServer, sentinel: Sentinel, body: Any) -> None:
    if isinstance(body, dict) and isinstance(body.get("source"), str) and not body["source"].startswith("x-"):
        body["source"] = "x-" + body["source"]  # never a real file, camera or URL: only refusals are fuzzed
    with fuzz_server.client() as client:
        # json.dumps (not httpx's strict encoder) so NaN/Infinity literals reach the server's parser too
        response = client.post("/v1/streams", content=json.dumps(body), headers={"Content-Type": "application/json"})
    check_answer(response)
    assert response.status_code != 201


def test_afterwards_the_server_is_up_ids_are_safe_and_the_sentinel_untouched(
    fuzz_server: LiveServer, sentinel: Sentinel
) -> None:
    with fuzz_server.client() as client:
        streams = client.get("/v1/streams").json()["streams"]
        metrics = client.get("/metrics").text
    assert all(SAFE_ID.fullmatch(s["stream_id"]) and s["stream_id"] not in (".", "..") for s in streams)
    assert 'vqseg_errors_total{code="internal"}' not in metrics and "vqseg_model_errors_total 0.0" in metrics
    active = re.search(r"^vqseg_active_streams (\S+)$", metrics, re.M)
    assert active is not None and float(active.group(1)) == len(streams)
    sentinel.check()
