"""``vqseg bench --load``: many WebSocket streams and REST callers at once against one server, for a
fixed time. Reports frames served and dropped, p50/p99 latency, errors by kind (documented overload
answers apart from unexpected ones), streams refused past capacity, and the server's memory.

The server is started with ``max_streams`` = the streams this test opens, so a prober that tries one
stream more every few seconds must be refused with close 1013 (past capacity: a clear refusal rather
than everyone slowing down).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import numpy as np

from benchmarks.proc_memory import rss_mb
from benchmarks.traffic import EXPECTED, Tally, call_rest, live_streams, probe_ws, push_ws
from vqseg_client.result import percentile


@dataclass(frozen=True)
class LoadConfig:
    seconds: float = 60.0
    ws_streams: int = 16
    rest_callers: int = 4  # half stateless /v1/segment, half one REST stream each
    fps: float = 15.0  # per WebSocket stream (a camera: it does not wait for results)
    mode: str = "vqbnn"
    probe_every: float = 5.0

    @property
    def rest_streams(self) -> int:
        return self.rest_callers // 2

    @property
    def capacity(self) -> int:
        """``max_streams`` for the server under test: exactly the streams this test opens."""
        return self.ws_streams + self.rest_streams


def _figures(tally: Tally, seconds: float) -> dict[str, Any]:
    return {
        "sent": tally.sent, "served": tally.served, "dropped": tally.dropped, "unanswered": tally.unanswered,
        "served_fps": tally.served / seconds if seconds else None,
        "latency_ms": {"p50": percentile(tally.latencies_ms, 50), "p99": percentile(tally.latencies_ms, 99),
                       "max": max(tally.latencies_ms) if tally.latencies_ms else None},
        "errors": dict(sorted(tally.errors.items())),
    }


async def _probe(ws_url: str, seconds: float, every: float, tally: Tally) -> None:
    """Try one stream past capacity every ``every`` s; each should be refused with close 1013."""
    start, n = time.monotonic(), 0
    await asyncio.sleep(min(every, seconds / 2))
    while time.monotonic() - start < seconds - 1.0:
        await probe_ws(ws_url, f"load-extra-{n}", tally)
        n += 1
        await asyncio.sleep(every)


async def _sample(pid: int | None, seconds: float, into: list[float]) -> None:
    start = time.monotonic()
    while pid is not None and time.monotonic() - start < seconds:
        value = rss_mb(pid)
        if value is not None:
            into.append(value)
        await asyncio.sleep(1.0)


async def run_load(
    ws_url: str, http_url: str, jpegs: Sequence[bytes], config: LoadConfig, pid: int | None = None,
    report: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The ``load`` section of the report (``pid``: the server process, for its memory)."""
    ws, rest, probe = Tally(), Tally(), Tally()
    rss: list[float] = []
    rss_start = rss_mb(pid) if pid is not None else None
    params = f"mode={config.mode}"
    async with httpx.AsyncClient(base_url=http_url, timeout=30.0,
                                 limits=httpx.Limits(max_connections=config.rest_callers + 4)) as http:
        tasks = [push_ws(ws_url, f"load-ws-{i}", jpegs, config.fps, config.seconds, ws, params=params)
                 for i in range(config.ws_streams)]
        for i in range(config.rest_callers):
            if i % 2:
                tasks.append(call_rest(http, "/v1/segment", jpegs, config.seconds, rest))
            else:
                tasks.append(call_rest(http, f"/v1/streams/load-rest-{i // 2}/frames", jpegs, config.seconds, rest,
                                       {"mode": config.mode}))
        started = time.monotonic()
        tasks.append(_sample(pid, config.seconds, rss))
        await asyncio.sleep(0.5)  # the streams open before the prober tries one more
        tasks.append(_probe(ws_url, config.seconds, config.probe_every, probe))
        await asyncio.wait_for(asyncio.gather(*tasks), config.seconds + 60.0)
        elapsed = time.monotonic() - started
        await asyncio.sleep(1.0)
        left = await live_streams(http)
    rss_end = rss_mb(pid) if pid is not None else None
    ws_figures, rest_figures = _figures(ws, config.seconds), _figures(rest, config.seconds)
    unexpected = ws.unexpected() + rest.unexpected() + sum(
        n for kind, n in probe.errors.items() if kind != "close_1013")
    result = {
        "config": {**asdict(config), "capacity": config.capacity},
        "seconds": round(elapsed, 2),
        "websocket": ws_figures,
        "rest": rest_figures,
        "served_total": ws.served + rest.served,
        "served_fps_total": (ws.served + rest.served) / config.seconds,
        "over_capacity": {"attempts": probe.errors.get("close_1013", 0) + probe.streams_opened,
                          "refused_1013": probe.errors.get("close_1013", 0), "accepted": probe.streams_opened},
        "expected_errors": sorted(EXPECTED),
        "unexpected_errors": unexpected,
        "streams_left": left,
        "rss_mb": {"start": rss_start, "peak": max(rss) if rss else None, "end": rss_end,
                   "mean": float(np.mean(rss)) if rss else None},
    }
    if report is not None:
        report(f"  load: {result['served_total']} frames served in {config.seconds:g} s "
               f"(ws p50 {ws_figures['latency_ms']['p50']:.0f} ms, p99 {ws_figures['latency_ms']['p99']:.0f} ms), "
               f"dropped {ws.dropped}, unexpected errors {unexpected}")
    return result
