"""Markdown for the load and soak sections (``load.md``, ``soak.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evaluation.markdown import fmt, table


def _errors(errors: Mapping[str, int]) -> str:
    return ", ".join(f"`{k}` {v}" for k, v in errors.items()) or "none"


def render_load(run: Mapping[str, Any], load: Mapping[str, Any]) -> str:
    c = load["config"]
    rss = load["rss_mb"]
    lines = [f"### vqseg bench --load — {run['device_name']} ({run['cpus']} CPUs), {run['created']}", "",
             f"Model `{run['model_name']}` on {run['device']}; {c['ws_streams']} WebSocket streams at "
             f"{c['fps']:g} fps each (mode `{c['mode']}`, frames {run['frame_size']} JPEG) + {c['rest_callers']} REST "
             f"callers back to back ({c['rest_callers'] - c['rest_callers'] // 2} `/v1/segment`, "
             f"{c['rest_callers'] // 2} stream(s)), {c['seconds']:g} s on 127.0.0.1; server `max_streams` = "
             f"{c['capacity']}.", ""]
    rows = []
    for name in ("websocket", "rest"):
        f = load[name]
        rows.append([name, str(f["sent"]), str(f["served"]), fmt(f["served_fps"], 1, 1), str(f["dropped"]),
                     fmt(f["latency_ms"]["p50"], 1, 0), fmt(f["latency_ms"]["p99"], 1, 0), _errors(f["errors"])])
    lines += [table(["traffic", "sent", "served", "served fps", "dropped (newest wins)", "p50 ms", "p99 ms",
                     "errors by kind"], rows), ""]
    over = load["over_capacity"]
    lines += [f"Streams past capacity: {over['attempts']} attempts, {over['refused_1013']} refused with close 1013, "
              f"{over['accepted']} accepted. Unexpected errors: **{load['unexpected_errors']}** (expected under "
              f"overload: {', '.join(load['expected_errors'])}). Streams left after the clients closed: "
              f"{load['streams_left']} (the REST streams wait for idle eviction).", "",
              f"Server RSS: {fmt(rss['start'], 1, 1)} MB at start, {fmt(rss['peak'], 1, 1)} MB peak, "
              f"{fmt(rss['end'], 1, 1)} MB at the end."]
    return "\n".join(lines) + "\n"


def render_soak(run: Mapping[str, Any], soak: Mapping[str, Any]) -> str:
    c, f, rss = soak["config"], soak["fit"], soak["rss_mb"]
    lines = [f"### vqseg bench --soak — {run['device_name']} ({run['cpus']} CPUs), {run['created']}", "",
             f"Model `{run['model_name']}` on {run['device']}; {soak['seconds']:g} s: {c['slots']} WebSocket streams "
             f"open at any time, each living {c['lifetime'][0]:g}-{c['lifetime'][1]:g} s at {c['fps']:g} fps (every "
             f"fourth vanishing without a close frame), plus REST streams deleted or left to idle eviction "
             f"({c['idle_timeout']:g} s).", ""]
    rows = [
        ["streams created", str(soak["streams_created"])],
        ["streams left at the end", str(soak["streams_left"])],
        ["frames sent / served / dropped", f"{soak['frames']['sent']} / {soak['frames']['served']} / "
                                           f"{soak['frames']['dropped']}"],
        ["errors by kind", _errors(soak["errors"])],
        ["unexpected errors", str(soak["unexpected_errors"])],
        ["RSS start / peak / end (MB)",
         f"{fmt(rss['start'], 1, 1)} / {fmt(rss['peak'], 1, 1)} / {fmt(rss['end'], 1, 1)}"],
        [f"RSS after the {c['warmup']:g} s warm-up → end (MB)",
         f"{fmt(f.get('rss_at_warmup_mb'), 1, 1)} → {fmt(f.get('rss_end_mb'), 1, 1)} "
         f"(median growth {fmt(f.get('growth_after_warmup_mb'), 1, 2)})"],
        ["fitted slope after warm-up", f"{fmt(f.get('mb_per_hour'), 1, 2)} MB/hour, "
                                       f"{fmt(f.get('kb_per_stream'), 1, 2)} KB per stream created"],
    ]
    lines += [table(["figure", "value"], rows), "", "![RSS over time](soak.png)"]
    return "\n".join(lines) + "\n"
