"""Hostile clients for ``vqseg bench --hostile``: slow, oversized, expensive and abusive traffic.

Each attacker loops until its deadline with bounded concurrency and counts what the server answered
(``Counter`` of outcome names). None of them can succeed against a hardened server: the outcomes say
how each was refused (408 / close by the server, 413, 422, 403, close 1013...); ``accepted_*``
outcomes are failures of the hardening and are reported as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import struct
import time
import zlib
from collections import Counter
from dataclasses import dataclass

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from benchmarks.attackers_round3 import round3_tasks

MiB = 1024 * 1024


@dataclass(frozen=True)
class AttackConfig:
    seconds: float
    slow_sockets: int = 40  # slowloris / silent sockets held open at once
    stalled_bodies: int = 10  # POSTs that declare 15 MiB and stall
    expensive: int = 4  # clients asking for bnn at the server's max_samples, back to back
    ws_flood: int = 16  # WebSockets to ONE stream, each sending 8 MiB of junk per message
    max_samples: int = 32


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG header that declares ``width`` x ``height`` pixels, with a tiny body."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _open_at_end(opened: float, limit: float) -> str:
    """An attack connection still open when the run ended: fine if younger than the server's timeout."""
    return "open_too_long" if time.monotonic() - opened > limit else "open_at_end_within_timeout"


async def _read_until_closed(reader: asyncio.StreamReader, limit: float) -> bytes:
    data = b""
    with contextlib.suppress(TimeoutError, ConnectionError):
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), limit)
            if not chunk:
                break
            data += chunk
    return data


async def _connect(
    host: str, port: int, out: Counter[str]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """One TCP connection, or None (counted, after a 1 s pause) when the server refuses it."""
    try:
        return await asyncio.open_connection(host, port)
    except OSError:
        out["connect_refused"] += 1
        await asyncio.sleep(1.0)
        return None


async def slow_socket(host: str, port: int, deadline: float, out: Counter[str], silent: bool) -> None:
    """Open a connection and send the headers a byte every second (or nothing); reopen when cut."""
    while time.monotonic() < deadline:
        connection = await _connect(host, port, out)
        if connection is None:
            continue
        reader, writer = connection
        opened = time.monotonic()
        closed = asyncio.ensure_future(_read_until_closed(reader, deadline - time.monotonic() + 1))
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
        sent = 0
        while not closed.done() and time.monotonic() < deadline:
            if not silent and sent < len(request):
                with contextlib.suppress(ConnectionError):
                    writer.write(request[sent:sent + 1])
                sent += 1
            await asyncio.sleep(1.0)
        answer = await closed if closed.done() else b""
        if closed.done():
            out["cut_by_server_408" if answer.startswith(b"HTTP/1.1 408") else
               "cut_by_server_503" if answer.startswith(b"HTTP/1.1 503") else "cut_by_server"] += 1
        else:
            closed.cancel()
            out[_open_at_end(opened, limit=15.0)] += 1
        writer.close()


async def stalled_body(host: str, port: int, deadline: float, out: Counter[str]) -> None:
    """POST /v1/segment declaring 15 MiB, send 64 KiB, then stall until the server cuts it."""
    while time.monotonic() < deadline:
        connection = await _connect(host, port, out)
        if connection is None:
            continue
        reader, writer = connection
        opened = time.monotonic()
        writer.write(f"POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
                     f"Content-Length: {15 * MiB}\r\n\r\n".encode() + b"\xff\xd8\xff" + b"\0" * (64 * 1024))
        answer = await _read_until_closed(reader, max(0.1, deadline - time.monotonic()))
        status = answer[9:12].decode(errors="replace") if answer.startswith(b"HTTP/") else "none"
        out[f"cut_by_server_{status}" if time.monotonic() < deadline else _open_at_end(opened, limit=65.0)] += 1
        writer.close()


async def oversized(http: httpx.AsyncClient, deadline: float, out: Counter[str]) -> None:
    """Bodies over max_frame_bytes (Connection: close) and decompression-bomb headers."""
    big = b"\xff\xd8\xff" + b"\0" * (17 * MiB)
    bomb = png_bomb()
    while time.monotonic() < deadline:
        for body, kind in ((big, "image/jpeg"), (bomb, "image/png")):
            try:
                r = await http.post("/v1/segment", content=body, headers={"Content-Type": kind, "Connection": "close"})
                out[f"http_{r.status_code}"] += 1
            except httpx.HTTPError as exc:
                out[type(exc).__name__] += 1
        await asyncio.sleep(0.2)


async def expensive(http: httpx.AsyncClient, frame: bytes, deadline: float, out: Counter[str], samples: int) -> None:
    """bnn at the cap back to back, and now and then far above it."""
    n = 0
    while time.monotonic() < deadline:
        asked = samples if n % 4 else 256
        n += 1
        try:
            r = await http.post("/v1/segment", content=frame, params={"mode": "bnn", "samples": asked},
                                headers={"Content-Type": "image/jpeg"}, timeout=120.0)
            out[f"samples_{'cap' if asked == samples else '256'}_http_{r.status_code}"] += 1
        except httpx.HTTPError as exc:
            out[type(exc).__name__] += 1


async def flood_watch(http: httpx.AsyncClient, deadline: float, out: Counter[str]) -> None:
    """The server's own count of the flood stream's pushing connections, sampled twice a second."""
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
            r = await http.get("/v1/streams/flood", timeout=5.0)
            if r.status_code == 200:
                out["server_max_connections"] = max(out["server_max_connections"], int(r.json()["connections"]))
        await asyncio.sleep(0.5)


async def ws_flood(ws_url: str, deadline: float, out: Counter[str]) -> None:
    """Connect to one shared stream and send 8 MiB junk messages until refused or the deadline."""
    junk = b"\0" * (8 * MiB)
    while time.monotonic() < deadline:
        try:
            flood = f"{ws_url}/v1/streams/flood/ws"
            async with connect(flood, max_size=None, open_timeout=15, compression=None) as ws:
                await ws.recv()  # hello, or ConnectionClosed when refused
                out["hello"] += 1
                while time.monotonic() < deadline:
                    await ws.send(junk)
                    await asyncio.sleep(0.5)
        except ConnectionClosed as exc:
            out[f"close_{exc.rcvd.code if exc.rcvd else None}"] += 1
            await asyncio.sleep(1.0)
        except (OSError, TimeoutError, InvalidStatus) as exc:
            out[type(exc).__name__] += 1
            await asyncio.sleep(1.0)


async def abuse(http: httpx.AsyncClient, ws_url: str, deadline: float, out: Counter[str]) -> None:
    """Pull-policy probes (files, loopback, metadata address) and foreign-origin WebSockets."""
    sources = ["/etc/passwd", "file:/etc/hostname", "../../etc/hosts", "rtsp://127.0.0.1:22/x",
               "http://169.254.169.254/latest/meta-data", "tcp://127.0.0.1:9?listen=1", "webcam:0",
               "rtsp://admin:pw@localhost/\r\nX: y", "99999999999999999999"]
    while time.monotonic() < deadline:
        for source in sources:
            try:
                r = await http.post("/v1/streams", content=json.dumps({"source": source}),
                                    headers={"Content-Type": "application/json"})
                out["accepted_pull" if r.status_code == 201 else f"pull_http_{r.status_code}"] += 1
            except httpx.HTTPError as exc:
                out[type(exc).__name__] += 1
        try:
            evil = "https://evil.example"
            async with connect(f"{ws_url}/v1/streams/x/ws", origin=evil, open_timeout=15):  # type: ignore[arg-type]
                out["accepted_foreign_origin"] += 1
        except InvalidStatus as exc:
            out[f"origin_http_{exc.response.status_code}"] += 1
        except (ConnectionClosed, OSError, TimeoutError) as exc:
            out[type(exc).__name__] += 1
        await asyncio.sleep(2.0)


def attack_in_process(http_url: str, ws_url: str, frame: bytes, config: AttackConfig) -> dict[str, dict[str, int]]:
    """``run_attackers`` in a child process, so that the attackers' own CPU work (sending, reading)
    does not slow down the event loop that measures the good streams."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_attack_sync, (http_url, ws_url, frame, config))


def _attack_sync(http_url: str, ws_url: str, frame: bytes, config: AttackConfig) -> dict[str, dict[str, int]]:
    outcomes = asyncio.run(run_attackers(http_url, ws_url, frame, config))
    times = os.times()
    outcomes["attacker_process"] = {"cpu_seconds": round(times.user + times.system)}
    return outcomes


async def run_attackers(http_url: str, ws_url: str, frame: bytes, config: AttackConfig) -> dict[str, dict[str, int]]:
    host, port = http_url.split("://", 1)[1].rsplit(":", 1)
    deadline = time.monotonic() + config.seconds
    outcomes: dict[str, Counter[str]] = {k: Counter() for k in
                                         ("slow_headers", "silent", "stalled_body", "oversized", "expensive",
                                          "ws_flood", "abuse")}
    limits = httpx.Limits(max_connections=config.expensive + 12)
    async with httpx.AsyncClient(base_url=http_url, timeout=60.0, limits=limits) as http:
        half = config.slow_sockets // 2
        tasks = [slow_socket(host, int(port), deadline, outcomes["slow_headers"], False) for _ in range(half)]
        tasks += [slow_socket(host, int(port), deadline, outcomes["silent"], True)
                  for _ in range(config.slow_sockets - half)]
        tasks += [stalled_body(host, int(port), deadline, outcomes["stalled_body"])
                  for _ in range(config.stalled_bodies)]
        tasks += [oversized(http, deadline, outcomes["oversized"])]
        tasks += [expensive(http, frame, deadline, outcomes["expensive"], config.max_samples)
                  for _ in range(config.expensive)]
        tasks += [ws_flood(ws_url, deadline, outcomes["ws_flood"]) for _ in range(config.ws_flood)]
        tasks += [flood_watch(http, deadline, outcomes["ws_flood"])]
        tasks += [abuse(http, ws_url, deadline, outcomes["abuse"])]
        tasks += round3_tasks(http, host, int(port), deadline, outcomes)
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), config.seconds + 150)
    return {name: dict(sorted(c.items())) for name, c in outcomes.items()}
