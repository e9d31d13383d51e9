"""``vqseg bench --soak``: streams open and close continuously for a long time; memory must stay flat.

``slots`` WebSocket clients each open a fresh stream, push frames for a random lifetime, and leave —
cleanly, or every fourth one by dropping the TCP connection without a close frame (a vanished
client) — then open the next. One REST client creates short streams too, deleting every other one
and leaving the rest to idle eviction. The server's RSS is sampled all along; after a warm-up the
fitted slope (MB per hour, and KB per stream created) says whether anything grows per stream.
At the end every stream must be gone (``streams_left`` = 0).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import numpy as np

from benchmarks.proc_memory import rss_mb
from benchmarks.traffic import Tally, live_streams, push_ws


@dataclass(frozen=True)
class SoakConfig:
    seconds: float = 600.0
    slots: int = 6  # WebSocket streams open at any time
    lifetime: tuple[float, float] = (2.0, 10.0)  # seconds a stream lives, uniform
    fps: float = 10.0
    sample_every: float = 2.0
    warmup: float = 60.0  # seconds before the fit starts (allocator pools, caches, first streams)
    idle_timeout: float = 3.0  # the server's, for the REST streams left behind
    seed: int = 0


@dataclass
class _Run:
    created: int = 0
    deleted: int = 0
    samples: list[tuple[float, float, int, int | None]] = field(default_factory=list)  # t, MB, created, live


async def _ws_slot(ws_url: str, slot: int, jpegs: Sequence[bytes], config: SoakConfig, deadline: float,
                   tally: Tally, run: _Run) -> None:
    rng = random.Random(config.seed * 1000 + slot)
    n = 0
    while (left := deadline - time.monotonic()) > 0.5:
        lifetime = min(left, rng.uniform(*config.lifetime))
        run.created += 1
        await push_ws(ws_url, f"soak-{slot}-{n}", jpegs, config.fps, lifetime, tally, abrupt=n % 4 == 3, linger=1.0)
        n += 1


async def _rest_slot(http: httpx.AsyncClient, jpegs: Sequence[bytes], deadline: float, tally: Tally,
                     run: _Run) -> None:
    n = 0
    while deadline - time.monotonic() > 0.5:
        stream = f"/v1/streams/soak-rest-{n}"
        run.created += 1
        for i in range(4):
            try:
                response = await http.post(f"{stream}/frames", content=jpegs[i % len(jpegs)],
                                           headers={"Content-Type": "image/jpeg"})
                tally.sent += 1
                if response.status_code == 200:
                    tally.served += 1
                else:
                    tally.errors[str(response.json().get("error", {}).get("code"))] += 1
            except httpx.HTTPError as exc:
                tally.errors[type(exc).__name__] += 1
        if n % 2 == 0:  # the other half is left to idle eviction
            try:
                if (await http.delete(stream)).status_code == 204:
                    run.deleted += 1
            except httpx.HTTPError as exc:
                tally.errors[type(exc).__name__] += 1
        n += 1
        await asyncio.sleep(0.5)


async def _sampler(http: httpx.AsyncClient, pid: int | None, config: SoakConfig, start: float, deadline: float,
                   run: _Run, report: Callable[[str], None] | None) -> None:
    next_report = start + 30.0
    while time.monotonic() < deadline:
        value = rss_mb(pid) if pid is not None else None
        if value is not None:
            run.samples.append((time.monotonic() - start, value, run.created, await live_streams(http)))
        if report is not None and time.monotonic() >= next_report and run.samples:
            t, mb, created, live = run.samples[-1]
            report(f"  soak {t / 60:4.1f}/{config.seconds / 60:g} min: RSS {mb:.1f} MB, {created} streams created, "
                   f"{live} live")
            next_report += 30.0
        await asyncio.sleep(config.sample_every)


def fit(samples: Sequence[tuple[float, float, int, int | None]], warmup: float) -> dict[str, Any]:
    """Least-squares slopes of RSS after ``warmup`` s: MB per hour and KB per stream created."""
    after = [s for s in samples if s[0] >= warmup]
    if len(after) < 3:
        return {"samples": len(after), "mb_per_hour": None, "kb_per_stream": None}
    t = np.array([s[0] for s in after]) / 3600.0
    mb = np.array([s[1] for s in after])
    created = np.array([s[2] for s in after], dtype=float)
    per_hour, intercept = np.polyfit(t, mb, 1)
    per_stream = float(np.polyfit(created, mb, 1)[0] * 1024.0) if np.ptp(created) > 0 else None
    return {"samples": len(after), "mb_per_hour": float(per_hour), "intercept_mb": float(intercept),
            "kb_per_stream": per_stream, "rss_at_warmup_mb": float(mb[0]), "rss_end_mb": float(mb[-1]),
            "growth_after_warmup_mb": float(np.median(mb[-3:]) - np.median(mb[:3])),
            "streams_created_after_warmup": int(created[-1] - created[0])}


async def run_soak(
    ws_url: str, http_url: str, jpegs: Sequence[bytes], config: SoakConfig, pid: int | None = None,
    report: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The ``soak`` section; ``pid``: the server process, for its memory."""
    tally, run = Tally(), _Run()
    start = time.monotonic()
    deadline = start + config.seconds
    async with httpx.AsyncClient(base_url=http_url, timeout=30.0) as http:
        tasks = [_ws_slot(ws_url, slot, jpegs, config, deadline, tally, run) for slot in range(config.slots)]
        tasks += [_rest_slot(http, jpegs, deadline, tally, run),
                  _sampler(http, pid, config, start, deadline, run, report)]
        await asyncio.wait_for(asyncio.gather(*tasks), config.seconds + 120.0)
        settle = time.monotonic() + config.idle_timeout + 15.0
        left = await live_streams(http)
        while left and time.monotonic() < settle:  # idle eviction of the REST streams left behind
            await asyncio.sleep(0.5)
            left = await live_streams(http)
    end_mb = rss_mb(pid) if pid is not None else None
    if end_mb is not None:
        run.samples.append((time.monotonic() - start, end_mb, run.created, left))
    figures = fit(run.samples, config.warmup)
    result: dict[str, Any] = {
        "config": asdict(config),
        "seconds": round(time.monotonic() - start, 1),
        "streams_created": run.created,
        "streams_deleted_by_client": run.deleted,
        "streams_left": left,
        "frames": {"sent": tally.sent, "served": tally.served, "dropped": tally.dropped},
        "errors": dict(sorted(tally.errors.items())),
        "unexpected_errors": tally.unexpected(),
        "rss_mb": {"start": run.samples[0][1] if run.samples else None, "end": end_mb,
                   "peak": max(s[1] for s in run.samples) if run.samples else None},
        "fit": figures,
        "samples": [{"t": round(t, 2), "rss_mb": round(mb, 2), "created": c, "live": live}
                    for t, mb, c, live in run.samples],
    }
    if report is not None:
        report(f"  soak: {run.created} streams created, {left} left; RSS slope {figures.get('mb_per_hour')} MB/h, "
               f"{figures.get('kb_per_stream')} KB/stream")
    return result
