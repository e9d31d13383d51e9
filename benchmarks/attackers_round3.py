"""The attack classes issue 20's fresh attack found, for ``vqseg bench --hostile``.

- ``scan_bomb``: progressive JPEGs whose smallest scan is repeated thousands of times (each scan is a
  pass over the whole image; ~0.5 MB), to ``/v1/segment`` as a body and as a multipart field;
- ``huge_scene``: pulled synthetic scenes of 8192² at absurd rates (``1e300``, ``inf``, ``1e-300``) and
  large scenes at a normal rate (their rendering would not fit the frame-memory budget);
- ``amplification``: a large flat frame (a few kB of JPEG, millions of pixels) asked back as the overlay
  PNG and with every map: the answer's pixels are compared with the output budget;
- ``pong_flood``: a WebSocket that sends protocol pings and never reads, reopened when cut;
- ``rebinding``: requests and WebSocket handshakes naming a Host the server does not answer to.

Outcomes named ``accepted_*`` are hardening failures (``benchmarks.hostile_bench`` lists them);
``verdict`` reads a class's outcomes as refused, bounded or FAILED. ``class_in_process`` runs one class
alone (the bench measures the server's RSS peak for each).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import re
import struct
import time
from collections import Counter
from collections.abc import Coroutine
from typing import Any

import cv2
import httpx
import numpy as np

MAX_OUTPUT_PIXELS = 1920 * 1080  # the server's default budget (the bench runs it with defaults)
HUGE_SCENES = ("synthetic:street?w=8192&h=8192&fps=1e300", "synthetic:street?w=8192&h=8192&fps=inf",
               "synthetic:street?w=4096&h=4096&fps=15", "synthetic:street?w=2048&h=2048&fps=1e-300",
               "synthetic:street?w=640&h=480&fps=nan")
CLASSES = ("scan_bomb", "huge_scene", "amplification", "pong_flood", "rebinding")
PONG_UNSTALLED_MB = 32  # a server that stops reading stalls a pinger after ~12 MB (kernel buffers both ways)


def scan_bomb(scans: int = 3000, size: int = 2048) -> bytes:
    """A progressive JPEG with its smallest scan repeated ``scans`` times (each scan is a pass over the
    whole image): ~0.5 MB for 3000 scans of 2048² (seconds of decoding), far below ``max_frame_bytes``,
    so that only the scan check can refuse it (a large scan repeated makes a bomb the byte limit refuses)."""
    image = np.zeros((size, size, 3), np.uint8)
    image[::7] = 200
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1, cv2.IMWRITE_JPEG_QUALITY, 30])
    assert ok
    data = buf.tobytes()
    end = data.rindex(b"\xff\xd9")
    starts = [m.start() for m in re.finditer(rb"\xff\xda", data)]
    scan_data = [data[a:b] for a, b in zip(starts, [*starts[1:], end], strict=True)]
    smallest = min(reversed(scan_data), key=len)  # the last of the smallest: a luma refinement, ~1 ms at 2048²
    return data[:end] + smallest * scans + b"\xff\xd9"


def flat_frame(size: int = 4096) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.full((size, size, 3), 90, np.uint8))
    assert ok
    return buf.tobytes()


def png_pixels(data: bytes) -> int:
    width, height = struct.unpack(">II", data[16:24])
    return int(width) * int(height)


async def scan_bombs(http: httpx.AsyncClient, deadline: float, out: Counter[str]) -> None:
    bomb = scan_bomb()
    while time.monotonic() < deadline:
        for how in ("body", "multipart"):
            try:
                if how == "body":
                    r = await http.post("/v1/segment", content=bomb, headers={"Content-Type": "image/jpeg"})
                else:
                    r = await http.post("/v1/segment", files={"frame": ("b.jpg", bomb, "image/jpeg")})
                if r.status_code == 200:
                    out["accepted_scan_bomb"] += 1
                else:  # "scans" in the message: refused by the scan check (not, say, by the byte limit)
                    why = "_scans" if "scans" in r.text else ""
                    out[f"{how}{why}_http_{r.status_code}"] += 1
            except httpx.HTTPError as exc:
                out[type(exc).__name__] += 1
        await asyncio.sleep(0.5)


async def huge_scenes(http: httpx.AsyncClient, deadline: float, out: Counter[str]) -> None:
    while time.monotonic() < deadline:
        for source in HUGE_SCENES:
            try:
                r = await http.post("/v1/streams", json={"source": source})
                if r.status_code == 201:
                    out["accepted_huge_scene"] += 1
                    await http.delete(f"/v1/streams/{r.json()['stream_id']}")
                else:
                    out[f"pull_http_{r.status_code}"] += 1
            except httpx.HTTPError as exc:
                out[type(exc).__name__] += 1
        await asyncio.sleep(1.0)


async def amplification(http: httpx.AsyncClient, deadline: float, out: Counter[str]) -> None:
    frame = flat_frame()
    params = ({"format": "png"}, {"maps": "confidence,mutual_info,expected_entropy"})
    while time.monotonic() < deadline:
        for query in params:
            try:
                r = await http.post("/v1/segment", content=frame, params=query,
                                    headers={"Content-Type": "image/jpeg"}, timeout=120.0)
            except httpx.HTTPError as exc:
                out[type(exc).__name__] += 1
                continue
            if r.status_code != 200:
                out[f"http_{r.status_code}"] += 1
                continue
            if query.get("format") == "png":
                pixels = png_pixels(r.content)
            else:
                body = r.json()
                pixels = int(body["map_width"]) * int(body["map_height"])
            out["bounded" if pixels <= MAX_OUTPUT_PIXELS else "accepted_amplification"] += 1
            out["largest_answer_kb"] = max(out["largest_answer_kb"], len(r.content) // 1024)
        await asyncio.sleep(0.5)


def _masked(payload: bytes, opcode: int) -> bytes:
    mask = os.urandom(4)
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _handshake(path: str, host: str, extra: str = "") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n").encode()


async def pong_flood(host: str, port: int, deadline: float, out: Counter[str]) -> None:
    """Pings without ever reading; 'stalled' when the server stops reading (its send buffer is full)."""
    batch = _masked(b"p" * 125, 0x9) * 512
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            out["connect_refused"] += 1
            await asyncio.sleep(1.0)
            continue
        writer.write(_handshake("/v1/streams/pong-flood/ws", f"127.0.0.1:{port}"))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
        sent = 0
        try:
            while time.monotonic() < deadline:
                writer.write(batch)
                await asyncio.wait_for(writer.drain(), 5.0)
                sent += len(batch)
            mb = sent // (1024 * 1024)  # the deadline came and the server was still reading
            out["accepted_pong_flood" if mb >= PONG_UNSTALLED_MB else "never_stalled"] += 1
            out["most_mb_sent_unstalled"] = max(out["most_mb_sent_unstalled"], mb)
        except TimeoutError:
            out["stalled_by_server"] += 1  # the server stopped reading: no more pongs are made
            out["most_mb_sent_before_stall"] = max(out["most_mb_sent_before_stall"], sent // (1024 * 1024))
            await asyncio.sleep(max(0.0, min(5.0, deadline - time.monotonic())))
        except (ConnectionError, OSError):
            out["cut_by_server"] += 1
        writer.transport.abort()


async def rebinding(http: httpx.AsyncClient, host: str, port: int, deadline: float, out: Counter[str]) -> None:
    evil = f"rebound.attacker.example:{port}"
    while time.monotonic() < deadline:
        try:
            r = await http.get("/v1/streams", headers={"Host": evil})
            out["accepted_rebinding" if r.status_code == 200 else f"get_http_{r.status_code}"] += 1
            r = await http.post("/v1/streams", content=json.dumps({"source": "synthetic:street"}),
                                headers={"Host": evil, "Origin": f"http://{evil}", "Content-Type": "application/json"})
            out["accepted_rebinding" if r.status_code == 201 else f"post_http_{r.status_code}"] += 1
        except httpx.HTTPError as exc:
            out[type(exc).__name__] += 1
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(_handshake("/v1/streams/rebound/ws", evil, f"Origin: http://{evil}\r\n"))
            answer = await asyncio.wait_for(reader.read(64), 15)
            out["accepted_rebinding" if answer.startswith(b"HTTP/1.1 101") else f"ws_http_{answer[9:12].decode()}"] += 1
            writer.close()
        except (OSError, TimeoutError) as exc:
            out[type(exc).__name__] += 1
        await asyncio.sleep(2.0)


def class_task(name: str, http: httpx.AsyncClient, host: str, port: int, deadline: float,
               out: Counter[str]) -> Coroutine[Any, Any, None]:
    """The attacker of class ``name``, counting into ``out``; an attacker that raises is counted too
    (``attacker_error_<type>``), so a class that stopped early never reads as refused."""
    attackers = {"scan_bomb": lambda: scan_bombs(http, deadline, out),
                 "huge_scene": lambda: huge_scenes(http, deadline, out),
                 "amplification": lambda: amplification(http, deadline, out),
                 "pong_flood": lambda: pong_flood(host, port, deadline, out),
                 "rebinding": lambda: rebinding(http, host, port, deadline, out)}
    attack = attackers[name]

    async def guarded() -> None:
        try:
            await attack()
        except Exception as exc:  # the report shows it
            out[f"attacker_error_{type(exc).__name__}"] += 1

    return guarded()


def round3_tasks(http: httpx.AsyncClient, host: str, port: int, deadline: float,
                 outcomes: dict[str, Counter[str]]) -> list[Coroutine[Any, Any, None]]:
    """The coroutines of this module's attackers, each counting into its own ``outcomes`` entry."""
    for name in CLASSES:
        outcomes[name] = Counter()
    return [class_task(name, http, host, port, deadline, outcomes[name]) for name in CLASSES]


async def run_class(http_url: str, name: str, seconds: float) -> dict[str, int]:
    """One class alone for ``seconds`` (its last request may end later); its outcomes."""
    host, port = http_url.split("://", 1)[1].rsplit(":", 1)
    out: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=http_url, timeout=60.0) as http:
        await asyncio.wait_for(class_task(name, http, host, int(port), time.monotonic() + seconds, out),
                               seconds + 150)
    return dict(sorted(out.items()))


def _run_class_sync(http_url: str, name: str, seconds: float) -> dict[str, int]:
    return asyncio.run(run_class(http_url, name, seconds))


def class_in_process(http_url: str, name: str, seconds: float) -> dict[str, int]:
    """``run_class`` in a child process (as the bench's other attackers: their CPU is not the server's)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_run_class_sync, (http_url, name, seconds))


def _statuses(outcomes: dict[str, int]) -> Counter[str]:
    """The HTTP statuses answered, from outcome names ending in ``http_NNN`` (a 2xx is ``accepted_*``)."""
    statuses: Counter[str] = Counter()
    for kind, n in outcomes.items():
        if match := re.search(r"http_(\d{3})$", kind):
            statuses[match.group(1)] += n
    return statuses


def verdict(name: str, outcomes: dict[str, int]) -> tuple[str, str]:
    """How the server answered one class: ``refused``, ``bounded``, ``FAILED`` (it got something) or
    ``no answer`` (nothing shows either way: the attacker failed, or the server never answered), and why."""
    failed = {k: n for k, n in outcomes.items() if k.startswith("accepted_")}
    if failed:
        return "FAILED", ", ".join(f"{k} {n}" for k, n in failed.items())
    errors = {k: n for k, n in outcomes.items() if k.startswith("attacker_error_")}
    if errors:
        return "no answer", ", ".join(f"{k} {n}" for k, n in errors.items())
    statuses = ", ".join(f"{status} × {n}" for status, n in sorted(_statuses(outcomes).items()))
    if name == "scan_bomb" and statuses:
        by_scans = sum(n for k, n in outcomes.items() if "_scans_http_" in k)
        if by_scans < sum(_statuses(outcomes).values()):  # a refusal that never reached the scan check
            return "no answer", f"{statuses}, of them {by_scans} for the scan count"
        return "refused", f"{statuses}, all for the scan count"
    if name in ("scan_bomb", "huge_scene", "rebinding"):
        return ("refused", statuses) if statuses else ("no answer", "no HTTP answer")
    if name == "amplification":
        if outcomes.get("bounded"):
            return "bounded", (f"{outcomes['bounded']} answers within {MAX_OUTPUT_PIXELS:,} output pixels, "
                               f"largest {outcomes.get('largest_answer_kb', 0):,} kB")
        return "no answer", f"no result came back ({statuses or 'no HTTP answer'})"
    if name == "pong_flood":
        stalled, cut = outcomes.get("stalled_by_server", 0), outcomes.get("cut_by_server", 0)
        if stalled or cut:
            most = outcomes.get("most_mb_sent_before_stall", 0)
            return "bounded", f"the server stopped reading {stalled} × (after ≤ {most} MB of pings), cut {cut} ×"
        return "no answer", f"never stalled ({outcomes.get('most_mb_sent_unstalled', 0)} MB sent)"
    raise ValueError(f"unknown attack class {name!r}; known: {', '.join(CLASSES)}")
