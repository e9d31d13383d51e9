"""API keys: 401 (HTTP, and WebSocket handshakes) without the key, per-key stream limits (429)."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.server.conftest import ServerFactory, make_frame
from tests.server.test_ws import close_code, recv_json, recv_type

JPEG = {"Content-Type": "image/jpeg"}


def test_api_key_guards_rest_and_websockets(start_server: ServerFactory) -> None:
    live = start_server(api_key="alpha-key,beta-key", max_streams_per_key=1)
    with live.client() as anonymous, live.client(headers={"X-API-Key": "wrong"}) as wrong:
        for client in (anonymous, wrong):
            r = client.post("/v1/segment", content=make_frame(), headers=JPEG)
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
            for path in ("/v1/model", "/v1/streams", "/metrics"):
                assert client.get(path).status_code == 401
        # orchestrators need these without a key
        assert anonymous.get("/healthz").status_code == 200 and anonymous.get("/readyz").status_code == 200
    with live.client(headers={"X-API-Key": "alpha-key"}) as alpha, live.client(
        headers={"Authorization": "Bearer beta-key"}
    ) as beta:
        assert alpha.post("/v1/segment", content=make_frame(), headers=JPEG).status_code == 200
        assert alpha.post("/v1/streams/a1/frames", content=make_frame(), headers=JPEG).status_code == 200
        r = alpha.post("/v1/streams/a2/frames", content=make_frame(), headers=JPEG)
        assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_streams"
        assert beta.post("/v1/streams/b1/frames", content=make_frame(), headers=JPEG).status_code == 200
    # refused at the handshake: nothing is accepted for a client without a key (docs/reliability.md)
    for url in (f"{live.ws_url}/v1/streams/w/ws", f"{live.ws_url}/v1/streams/ghost/subscribe?key=nope"):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, max_size=None)
        assert refused.value.response.status_code == 401
        assert b'"unauthorized"' in refused.value.response.body
    with connect(f"{live.ws_url}/v1/streams/a1/subscribe?key=beta-key", max_size=None) as ws:
        assert recv_json(ws)["type"] == "hello"


@pytest.mark.parametrize("how", ["header", "query"])
def test_websocket_accepts_the_key_as_header_or_query(start_server: ServerFactory, how: str) -> None:
    live = start_server(api_key="k-123")
    url = f"{live.ws_url}/v1/streams/keyed/ws" + ("?key=k-123" if how == "query" else "")
    headers = {"X-API-Key": "k-123"} if how == "header" else None
    with connect(url, max_size=None, additional_headers=headers) as ws:
        assert recv_json(ws)["type"] == "hello"
        ws.send(make_frame())
        assert recv_type(ws, "result")["frame_index"] == 0


def test_cors_allows_only_the_configured_origins(start_server: ServerFactory) -> None:
    live = start_server(cors_origins=["http://viewer.example"])
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}
    with live.client() as client:
        ok = client.options("/v1/segment", headers={"Origin": "http://viewer.example", **preflight})
        bad = client.options("/v1/segment", headers={"Origin": "http://evil.example", **preflight})
        assert ok.headers.get("access-control-allow-origin") == "http://viewer.example"
        assert "access-control-allow-origin" not in bad.headers


def test_with_several_keys_a_stream_belongs_to_the_key_that_created_it(start_server: ServerFactory) -> None:
    live = start_server(api_key="alpha-key,beta-key")
    with live.client(headers={"X-API-Key": "alpha-key"}) as alpha, live.client(
        headers={"X-API-Key": "beta-key"}
    ) as beta:
        assert alpha.post("/v1/streams/mine/frames", content=make_frame(), headers=JPEG).status_code == 200
        r = beta.post("/v1/streams/mine/frames", content=make_frame(), headers=JPEG)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert beta.delete("/v1/streams/mine").status_code == 403
        with connect(f"{live.ws_url}/v1/streams/mine/ws?key=beta-key", max_size=None) as ws:
            assert close_code(ws) == 1008
        info = alpha.get("/v1/streams/mine").json()
        assert info["frames"] == 1  # beta changed nothing
        assert beta.get("/v1/streams/mine").status_code == 200  # reading stays open to every key
        assert alpha.delete("/v1/streams/mine").status_code == 204
