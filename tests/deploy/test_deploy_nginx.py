"""The routers' nginx configs: the hash key is the stream id, so a stream stays on one replica.

nginx's ``map`` blocks are evaluated here as nginx evaluates them, for the requests a stream makes.
"""

from __future__ import annotations

import re

import pytest
from deploy_files import REPO, evaluate_nginx_variable, nginx_block, nginx_directives, nginx_maps

CONFIGS = [REPO / "docker" / "lb" / "nginx.conf", REPO / "docker" / "k8s" / "nginx.conf"]
IDS = ["compose", "k8s"]


def _route_key(text: str, uri: str, header: str = "", request_id: str = "req-1") -> str:
    (hash_args,) = nginx_directives(nginx_block(text, "upstream vqseg"), "hash")
    variables = {"$uri": uri, "$http_x_vqseg_stream_id": header, "$request_id": request_id}
    return evaluate_nginx_variable(hash_args[0], nginx_maps(text), variables)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_upstream_uses_consistent_hashing(config) -> None:
    text = config.read_text()
    upstream = nginx_block(text, "upstream vqseg")
    (hash_args,) = nginx_directives(upstream, "hash")
    assert hash_args[1:] == ["consistent"]
    assert nginx_directives(upstream, "zone"), "`resolve` on servers needs a shared zone"
    location = nginx_block(text, "location /")
    assert nginx_directives(location, "proxy_pass") == [["http://vqseg"]]


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
@pytest.mark.parametrize(
    "uri",
    [
        "/v1/streams/cam-1/ws",
        "/v1/streams/cam-1/frames",
        "/v1/streams/cam-1/subscribe",
        "/v1/streams/cam-1",
    ],
)
def test_every_request_of_a_stream_hashes_on_its_id(config, uri: str) -> None:
    assert _route_key(config.read_text(), uri) == "cam-1"


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
@pytest.mark.parametrize("stream_id", ["a", "Cam.7_north-2", "x" * 128])
def test_any_valid_stream_id_is_the_key(config, stream_id: str) -> None:
    # stream ids: [A-Za-z0-9._-]{1,128} (docs/protocol.md)
    assert _route_key(config.read_text(), f"/v1/streams/{stream_id}/ws") == stream_id


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_registering_a_pulled_camera_routes_by_header(config) -> None:
    # POST /v1/streams carries its id in the JSON body; the client repeats it in X-VQSeg-Stream-Id
    assert _route_key(config.read_text(), "/v1/streams", header="gate") == "gate"
    # ...and the stream's later requests land on the same key
    assert _route_key(config.read_text(), "/v1/streams/gate/subscribe") == "gate"


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
@pytest.mark.parametrize("uri", ["/v1/segment", "/v1/model", "/healthz", "/", "/v1/streams", "/v1/streams/"])
def test_requests_of_no_stream_spread(config, uri: str) -> None:
    text = config.read_text()
    assert _route_key(text, uri, request_id="r1") == "r1"
    assert _route_key(text, uri, request_id="r2") == "r2"


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_websocket_upgrade_is_forwarded(config) -> None:
    text = config.read_text()
    location = nginx_block(text, "location /")
    assert nginx_directives(location, "proxy_http_version") == [["1.1"]]
    headers = {args[0]: args[1] for args in nginx_directives(location, "proxy_set_header")}
    assert headers["Upgrade"] == "$http_upgrade"
    upgrade = headers["Connection"]
    maps = nginx_maps(text)
    assert evaluate_nginx_variable(upgrade, maps, {"$http_upgrade": "websocket"}) == "upgrade"
    assert evaluate_nginx_variable(upgrade, maps, {"$http_upgrade": ""}) == ""
    (timeout,) = nginx_directives(location, "proxy_read_timeout")
    assert re.fullmatch(r"\d+[hm]", timeout[0]), "long-lived streams need a long read timeout"


def test_both_routers_route_alike() -> None:
    """The compose and Kubernetes configs differ only in where the replicas are."""

    def routing(text: str) -> str:
        text = re.sub(r"#[^\n]*", "", text)
        text = re.sub(r"^\s*(resolver|server) [^\n;]*;\n", "", text, flags=re.M)
        return re.sub(r"\s+", " ", text)

    lb, k8s = (c.read_text() for c in CONFIGS)
    assert routing(lb) == routing(k8s)
