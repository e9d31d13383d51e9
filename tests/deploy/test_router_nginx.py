"""Stream affinity through the real router: Debian's nginx with the project's config, three replicas.

Three real ``vqseg serve`` processes (the tiny street model) behind nginx on 127.0.0.1, run with
docker/lb/nginx.conf and docker/k8s/nginx.conf rendered for loopback ports (router.py). Which replica
holds a stream is asked of the replicas themselves (``GET /v1/streams`` on each, directly).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from deploy_files import REPO, nginx_block, nginx_directives
from docker_engine import http, jpeg
from router import Replica, nginx_router, start_replica, wait_ready

pytestmark = [pytest.mark.slow, pytest.mark.nginx]

CONFIGS = {"compose": REPO / "docker" / "lb" / "nginx.conf", "k8s": REPO / "docker" / "k8s" / "nginx.conf"}
REPLICAS = 3

needs_nginx = pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").is_file(),
                                 reason="Debian's nginx is not installed (apt-get install nginx)")


@pytest.fixture(scope="module")
def replicas(street_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Replica]]:
    log_dir = tmp_path_factory.mktemp("replicas")
    started = [start_replica(street_checkpoint, log_dir) for _ in range(REPLICAS)]
    try:
        wait_ready(started)
        yield started
    finally:
        for replica in started:
            replica.stop()


def owners(replicas: list[Replica]) -> dict[str, tuple[str, int]]:
    """stream id -> (the replica that holds it, its frame count), asked of every replica directly."""
    found: dict[str, tuple[str, int]] = {}
    for replica in replicas:
        if replica.process.poll() is not None:
            continue
        status, _, body = http(f"{replica.url}/v1/streams")
        assert status == 200, body
        for stream in json.loads(body)["streams"]:
            assert stream["stream_id"] not in found, f"{stream['stream_id']} is on two replicas"
            found[stream["stream_id"]] = (replica.address, stream["frames"])
    return found


def post_frame(router: str, stream_id: str, seed: int = 0) -> tuple[int, str, dict]:
    status, headers, body = http(f"{router}/v1/streams/{stream_id}/frames", data=jpeg(seed),
                                 headers={"Content-Type": "image/jpeg"}, timeout=30)
    replica = {k.lower(): v for k, v in headers.items()}.get("x-vqseg-replica", "")
    return status, replica, json.loads(body) if status == 200 else {}


async def push_frames(ws: websockets.ClientConnection, count: int, seed: int = 0) -> list[dict]:
    results = []
    for i in range(count):
        await ws.send(jpeg(seed + i))
        while (message := json.loads(await ws.recv()))["type"] != "result":
            pass
        results.append(message)
    return results


def _ws_url(router: str, stream_id: str) -> str:
    return router.replace("http://", "ws://") + f"/v1/streams/{stream_id}/ws"


@needs_nginx
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_a_stream_stays_on_one_replica_over_rest_and_websocket(config: str, replicas: list[Replica],
                                                               tmp_path: Path) -> None:
    ids = [f"{config}-cam-{i}" for i in range(30)]

    async def scenario(router: str) -> dict[str, str]:
        seen: dict[str, str] = {}
        for stream_id in ids:
            # a WebSocket push stream through the router; while it is open, REST frames of the same id
            async with websockets.connect(_ws_url(router, stream_id), max_size=None, proxy=None) as ws:
                assert json.loads(await ws.recv())["type"] == "hello"
                await push_frames(ws, 1)
                ws_replica = ws.response.headers.get("X-VQSeg-Replica", "")
                rest = [post_frame(router, stream_id, seed) for seed in (1, 2)]
                assert [status for status, _, _ in rest] == [200, 200], rest
                rest_replicas = {replica for _, replica, _ in rest}
                assert len(rest_replicas) == 1, f"{stream_id}: REST frames went to {rest_replicas}"
                held = owners(replicas)
                # one stream on one replica: its 3 frames (1 WebSocket + 2 REST) were all counted there
                assert held[stream_id] == (rest_replicas.pop(), 3), held.get(stream_id)
                # ...and the router's reply header names that replica, for the WebSocket handshake too
                assert ws_replica == held[stream_id][0]
                seen[stream_id] = held[stream_id][0]
        return seen

    with nginx_router(CONFIGS[config], replicas, tmp_path) as router:
        seen = asyncio.run(scenario(router))
    spread = {replica: sum(1 for r in seen.values() if r == replica) for replica in {r.address for r in replicas}}
    assert all(count > 0 for count in spread.values()), f"30 ids did not reach every replica: {spread}"


@needs_nginx
def test_stopping_a_replica_moves_only_its_streams_and_clients_reconnect(replicas: list[Replica],
                                                                         street_checkpoint: Path,
                                                                         tmp_path: Path) -> None:
    ids = [f"move-{i}" for i in range(12)]
    with nginx_router(CONFIGS["compose"], replicas, tmp_path) as router:
        first = {stream_id: post_frame(router, stream_id)[1] for stream_id in ids}
        victim = next(r for r in replicas if r.address == first[ids[0]])
        moved = [i for i in ids if first[i] == victim.address]
        stayed = [i for i in ids if first[i] != victim.address]
        assert stayed, f"all 12 ids on one replica: {first}"

        async def websocket_moves() -> tuple[int | None, list[dict], dict]:
            url = _ws_url(router, moved[0])
            async with websockets.connect(url, max_size=None, proxy=None) as ws:
                await ws.recv()
                await push_frames(ws, 2)
                # the replica goes away (SIGTERM, as a rolling update or a scale-down sends): it drains
                code = None
                stop = asyncio.get_running_loop().run_in_executor(None, victim.stop)
                try:
                    while True:
                        await asyncio.wait_for(ws.recv(), timeout=60)
                except websockets.ConnectionClosed as closed:
                    code = closed.rcvd.code if closed.rcvd else None
                # uvicorn re-raises SIGTERM once it has shut down: killed by SIGTERM is a clean exit here
                assert await stop in (0, -signal.SIGTERM)
            # the client reconnects with the same stream id (docs/deploy.md, "When a replica dies")
            async with websockets.connect(url, max_size=None, proxy=None) as ws:
                hello = json.loads(await ws.recv())
                results = await push_frames(ws, 2, seed=5)
                return code, results, {"hello": hello, "owners": owners(replicas)}

        try:
            code, results, after = asyncio.run(websocket_moves())
            assert code == 1001, f"close code {code} when the replica stopped"
            assert after["hello"]["stream_id"] == moved[0]
            new_owner, frames = after["owners"][moved[0]]
            assert new_owner != victim.address and frames == 2, "a fresh buffer on another replica"
            assert [r["buffer_len"] for r in results] == [1, 2], "the blend restarts with the new buffer"

            # REST frames of the dead replica's other streams: the router passes them to the next one
            for stream_id in moved[1:]:
                status, replica, _ = post_frame(router, stream_id)
                assert status == 200 and replica != victim.address
            # ...and the other streams keep their replica and their buffer
            for stream_id in stayed:
                status, replica, result = post_frame(router, stream_id)
                assert status == 200 and replica == first[stream_id], (stream_id, replica, first[stream_id])
                assert result["buffer_len"] == 2
            held = owners(replicas)
            assert all(held[i][1] == 2 for i in stayed)
            assert all(held[i][1] == 1 for i in moved[1:])
        finally:
            # the replica comes back under its old address: the ring gives it its ids back
            restarted = start_replica(street_checkpoint, victim.log.parent, port=victim.port)
            replicas[replicas.index(victim)] = restarted
            wait_ready([restarted])
        # every id of the victim goes to it again (a new buffer there) once nginx tries it again (after
        # fail_timeout); the others stay where they were
        deadline = time.monotonic() + 40
        while True:
            back = {stream_id: post_frame(router, stream_id)[1] for stream_id in ids}
            if back == first or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert back == first


def test_both_routers_hash_on_the_stream_id_and_differ_only_in_the_upstream() -> None:
    for path in CONFIGS.values():
        upstream = nginx_block(path.read_text(), "upstream vqseg")
        assert nginx_directives(upstream, "hash") == [["$vqseg_route_key", "consistent"]]
        assert nginx_directives(nginx_block(path.read_text(), "location /"), "proxy_pass") == [["http://vqseg"]]

    def routing(text: str) -> str:
        text = re.sub(r"#[^\n]*", "", text)
        text = re.sub(r"^\s*(resolver|server) [^\n;]*;\n", "", text, flags=re.M)
        return re.sub(r"\s+", " ", text)

    lb, k8s = (path.read_text() for path in CONFIGS.values())
    assert routing(lb) == routing(k8s)
