"""``vqseg bench --hostile``: well-behaved streams with and without attackers, against one server.

Phase 1 (baseline): ``good_streams`` WebSocket cameras push JPEG frames at ``fps`` for
``baseline_seconds``. Phase 2 (attack): the same cameras again for ``seconds`` while the attackers of
``benchmarks.attackers`` run (slow and silent sockets, stalled bodies, oversized bodies and bombs,
bnn at the sample cap, a WebSocket flood on one stream, pull-policy and Origin abuse; and from
``benchmarks.attackers_round3`` JPEG scan bombs, huge pulled scenes, output amplification, a pong
flood and DNS-rebinding Host names), in a child
process of their own so that their CPU work does not distort the good streams' clock. Phase 3 (one
class at a time): each of the round-3 classes alone for ``class_seconds``, with no good streams, so
that the server's RSS peak can be told per class. Reported: the good streams' sent/served, served
fps, p50/p99 latency and errors in each phase; the server's RSS (start, peak per phase, attack peak /
baseline peak); how each attacker was answered; and per round-3 class its verdict (refused, bounded
or FAILED) with the RSS before and at the peak of its own phase.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.attackers import AttackConfig, attack_in_process
from benchmarks.attackers_round3 import CLASSES, class_in_process, verdict
from benchmarks.proc_memory import rss_mb
from benchmarks.traffic import Tally, push_ws
from vqseg_client.result import percentile

MAX_GOOD_STREAMS = 32
WS_PER_STREAM = 2  # the server's max_ws_per_stream (its default); the flood may never hold more


@dataclass(frozen=True)
class HostileConfig:
    seconds: float = 300.0
    baseline_seconds: float = 300.0
    good_streams: int = 32
    fps: float = 5.0
    mode: str = "vqbnn"
    max_samples: int = 32
    class_seconds: float = 20.0  # each round-3 class alone afterwards (0: not run)

    def __post_init__(self) -> None:
        if not 1 <= self.good_streams <= MAX_GOOD_STREAMS:
            raise ValueError(f"good streams must be 1..{MAX_GOOD_STREAMS}")
        if self.class_seconds < 0:
            raise ValueError("class seconds must be >= 0")


def server_env(config: HostileConfig) -> dict[str, str]:
    """Settings of the server under test: room for the good streams and the attackers' streams."""
    return {"VQSEG_MAX_STREAMS": str(config.good_streams + 16), "VQSEG_MAX_SAMPLES": str(config.max_samples),
            "VQSEG_MAX_WS_PER_STREAM": str(WS_PER_STREAM),
            "MALLOC_MMAP_THRESHOLD_": "131072"}  # the setting docs/reliability.md recommends for long runs


async def _good(ws_url: str, jpegs: Sequence[bytes], config: HostileConfig, seconds: float, tag: str) -> Tally:
    tally = Tally()
    await asyncio.gather(*[push_ws(ws_url, f"good-{tag}-{i}", jpegs, config.fps, seconds, tally,
                                   params=f"mode={config.mode}") for i in range(config.good_streams)])
    return tally


async def _sample(pid: int | None, stop: asyncio.Event, into: list[float]) -> None:
    while pid is not None and not stop.is_set():
        value = rss_mb(pid)
        if value is not None:
            into.append(value)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


def _figures(tally: Tally, seconds: float, rss: list[float]) -> dict[str, Any]:
    return {
        "sent": tally.sent, "served": tally.served, "dropped": tally.dropped,
        "served_fps": round(tally.served / seconds, 2),
        "latency_ms": {"p50": percentile(tally.latencies_ms, 50), "p99": percentile(tally.latencies_ms, 99)},
        "errors": dict(sorted(tally.errors.items())), "streams_opened": tally.streams_opened,
        "rss_peak_mb": max(rss) if rss else None, "rss_end_mb": rss[-1] if rss else None,
    }


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds the process has used (``/proc/PID/stat``)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _phase(pid: int | None, work: Any) -> tuple[Any, list[float], float]:
    rss: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample(pid, stop, rss))
    started = time.monotonic()
    try:
        result = await work
    finally:
        stop.set()
        await sampler
    return result, rss, time.monotonic() - started


async def _one_class_each(http_url: str, pid: int | None, seconds: float,
                          say: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Each round-3 class alone for ``seconds``: its outcomes and the server's RSS before, at the peak
    of its phase and 2 s after."""
    classes: dict[str, dict[str, Any]] = {}
    for name in CLASSES if seconds > 0 else ():
        await asyncio.sleep(2.0)
        before = rss_mb(pid) if pid is not None else None
        say(f"  {name} alone for {seconds:g} s")
        outcomes, rss, _ = await _phase(pid, asyncio.to_thread(class_in_process, http_url, name, seconds))
        await asyncio.sleep(2.0)
        classes[name] = {"outcomes": outcomes, "rss_before_mb": before, "rss_peak_mb": max(rss) if rss else None,
                         "rss_after_mb": rss_mb(pid) if pid is not None else None}
    return classes


def class_verdicts(attackers: dict[str, dict[str, int]], classes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per round-3 class: the verdict of the attack phase, of its own phase, and the worse of the two."""
    order = ("FAILED", "no answer", "bounded", "refused")
    verdicts: dict[str, Any] = {}
    for name in CLASSES:
        together = verdict(name, attackers.get(name, {}))
        alone = verdict(name, classes[name]["outcomes"]) if name in classes else None
        worst = min((v for v in (together, alone) if v is not None), key=lambda v: order.index(v[0]))
        verdicts[name] = {"verdict": worst[0], "with_others": list(together), "alone": list(alone) if alone else None}
    return verdicts


async def run_hostile(
    ws_url: str, http_url: str, jpegs: Sequence[bytes], config: HostileConfig, pid: int | None = None,
    report: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    say = report or (lambda _: None)
    rss_start = rss_mb(pid) if pid is not None else None
    say(f"  baseline: {config.good_streams} good streams at {config.fps:g} fps for {config.baseline_seconds:g} s")
    cpu0 = cpu_seconds(pid)
    base, base_rss, _ = await _phase(pid, _good(ws_url, jpegs, config, config.baseline_seconds, "base"))
    cpu1 = cpu_seconds(pid)
    await asyncio.sleep(2.0)
    say(f"  attack: the same streams for {config.seconds:g} s with the attackers")
    attack_config = AttackConfig(seconds=config.seconds, max_samples=config.max_samples)

    async def both() -> tuple[Tally, dict[str, dict[str, int]]]:
        good, attacks = await asyncio.gather(_good(ws_url, jpegs, config, config.seconds, "attack"),
                                             asyncio.to_thread(attack_in_process, http_url, ws_url, jpegs[0],
                                                               attack_config))
        return good, attacks

    (good, attacks), attack_rss, _ = await _phase(pid, both())
    cpu2 = cpu_seconds(pid)
    base_fig = _figures(base, config.baseline_seconds, base_rss)
    attack_fig = _figures(good, config.seconds, attack_rss)
    if cpu0 is not None and cpu1 is not None and cpu2 is not None:
        base_fig["server_cpu_seconds"] = round(cpu1 - cpu0, 1)
        attack_fig["server_cpu_seconds"] = round(cpu2 - cpu1, 1)
    ratio = (attack_fig["rss_peak_mb"] / base_fig["rss_peak_mb"]
             if attack_fig["rss_peak_mb"] and base_fig["rss_peak_mb"] else None)
    failures = {f"{name}.{kind}": n for name, kinds in attacks.items() for kind, n in kinds.items()
                if kind.startswith("accepted_") or kind == "open_too_long"}
    if attacks["ws_flood"].get("server_max_connections", 0) > WS_PER_STREAM:
        failures["ws_flood.server_max_connections"] = attacks["ws_flood"]["server_max_connections"]
    if config.class_seconds > 0:
        say(f"  one class at a time: {', '.join(CLASSES)}")
    classes = await _one_class_each(http_url, pid, config.class_seconds, say)
    failures |= {f"{name}_alone.{kind}": n for name, c in classes.items() for kind, n in c["outcomes"].items()
                 if kind.startswith("accepted_")}
    result = {
        "config": asdict(config), "rss_start_mb": rss_start,
        "baseline": base_fig, "attack": attack_fig,
        "rss_peak_ratio": round(ratio, 3) if ratio else None,
        "attackers": attacks, "classes_alone": classes, "verdicts": class_verdicts(attacks, classes),
        "hardening_failures": failures,
    }
    say(f"  good streams: baseline {base_fig['served_fps']} fps p50 {base_fig['latency_ms']['p50']} ms; "
        f"under attack {attack_fig['served_fps']} fps p50 {attack_fig['latency_ms']['p50']} ms; "
        f"errors {attack_fig['errors']}; RSS peak ratio {result['rss_peak_ratio']}")
    return result


def add_server_log(hostile: dict[str, Any], log_path: Path) -> None:
    """Count the tracebacks in the server's log: an attack the server answered with one (an internal error)
    is a hardening failure even when the attacker saw a fitting status."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    hostile["server_log_tracebacks"] = text.count("Traceback (most recent call last)")
    if hostile["server_log_tracebacks"]:
        hostile["hardening_failures"]["server_log.tracebacks"] = hostile["server_log_tracebacks"]


def render_hostile(run: dict[str, Any], hostile: dict[str, Any]) -> str:
    def row(name: str, f: dict[str, Any]) -> str:
        lat = f["latency_ms"]
        p50 = f"{lat['p50']:.0f}" if lat["p50"] is not None else "-"
        p99 = f"{lat['p99']:.0f}" if lat["p99"] is not None else "-"
        errors = ", ".join(f"{k} {v}" for k, v in f["errors"].items()) or "none"
        return (f"| {name} | {f['sent']} | {f['served']} | {f['served_fps']} | {p50} | {p99} | {errors} | "
                f"{f['rss_peak_mb']:.0f} |" if f["rss_peak_mb"] else f"| {name} | {f['sent']} | {f['served']} | "
                f"{f['served_fps']} | {p50} | {p99} | {errors} | - |")

    c = hostile["config"]
    lines = [
        "# vqseg bench --hostile", "",
        f"{c['good_streams']} good WebSocket streams at {c['fps']:g} fps ({c['mode']}), baseline "
        f"{c['baseline_seconds']:g} s, attack {c['seconds']:g} s; model {run.get('model_name')}, "
        f"{run.get('cpus')} CPUs; frames {run.get('frame_size')}.", "",
        "| good streams | sent | served | served fps | p50 ms | p99 ms | errors | RSS peak MB |",
        "|---|---|---|---|---|---|---|---|",
        row("baseline", hostile["baseline"]), row("under attack", hostile["attack"]), "",
        f"RSS at start {hostile['rss_start_mb']:.0f} MB; attack peak / baseline peak = {hostile['rss_peak_ratio']}.",
        "", "| attacker | outcomes |", "|---|---|",
    ]
    for name, kinds in hostile["attackers"].items():
        lines.append(f"| {name} | {', '.join(f'{k} {v}' for k, v in kinds.items()) or '-'} |")
    lines += _render_verdicts(hostile)
    failures = hostile["hardening_failures"]
    cpu = [hostile[p].get("server_cpu_seconds") for p in ("baseline", "attack")]
    lines += ["", f"Server CPU seconds: baseline {cpu[0]}, under attack {cpu[1]}; attacker process "
              f"{hostile['attackers'].get('attacker_process', {}).get('cpu_seconds')} CPU seconds."]
    if "server_log_tracebacks" in hostile:
        lines += ["", f"Tracebacks in the server's log: {hostile['server_log_tracebacks']}."]
    lines += ["", "Hardening failures: " + (", ".join(f"{k} {v}" for k, v in failures.items()) if failures else "none")]
    return "\n".join(lines) + "\n"


def _mb(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "-"


def _render_verdicts(hostile: dict[str, Any]) -> list[str]:
    """The round-3 classes: verdict, what shows it, and the server's RSS in each class's own phase."""
    verdicts, alone = hostile.get("verdicts", {}), hostile.get("classes_alone", {})
    if not verdicts:
        return []
    seconds = hostile["config"].get("class_seconds", 0)
    lines = ["", f"Round-3 classes (issue 20): verdict under the attack phase and alone ({seconds:g} s each, no good "
             "streams; RSS of the server in that class's own phase):", "",
             "| class | verdict | with the other attackers | alone | RSS before → peak MB (growth) |",
             "|---|---|---|---|---|"]
    for name, v in verdicts.items():
        own = alone.get(name, {})
        before, peak = own.get("rss_before_mb"), own.get("rss_peak_mb")
        growth = f" (+{peak - before:,.0f})" if before is not None and peak is not None else ""
        rss = f"{_mb(before)} → {_mb(peak)}{growth}" if own else "-"
        alone_text = f"{v['alone'][0]}: {v['alone'][1]}" if v["alone"] else "not run"
        lines.append(f"| {name} | **{v['verdict']}** | {v['with_others'][0]}: {v['with_others'][1]} | "
                     f"{alone_text} | {rss} |")
    return lines
