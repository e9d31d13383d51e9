"""The bench report: ``bench.json`` (every figure) and ``bench.md`` (the tables for people)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluation.markdown import fmt, table
from evaluation.report import write_json


def add_ratios(report: dict[str, Any]) -> None:
    """Per served level: ``served_over_raw`` = served fps (all streams) / the raw model's fps in the
    served mode, and ``served_over_reference`` = served fps / the bare endpoint's at the same number of
    streams; and per format ``batching`` = fps at the most streams / fps at 1 stream. All from this run."""
    model, server, reference = report.get("model"), report.get("server"), report.get("reference")
    if not server:
        return
    raw = (model or {}).get("fps", {}).get(server.get("mode"))
    bare = {lv["streams"]: lv["fps_total"] for lv in (reference or {}).get("levels", [])}
    for level in server.get("levels", []):
        level["raw_fps"] = raw
        level["served_over_raw"] = level["fps_total"] / raw if raw else None
        ref = bare.get(level["streams"])
        level["reference_fps"] = ref
        level["served_over_reference"] = level["fps_total"] / ref if ref else None
    for name in dict.fromkeys(lv.get("format", "") for lv in server.get("levels", [])):
        mine = sorted((lv for lv in server["levels"] if lv.get("format", "") == name), key=lambda lv: lv["streams"])
        if len(mine) > 1 and mine[0]["streams"] == 1 and mine[0]["fps_total"]:
            mine[-1]["batching"] = mine[-1]["fps_total"] / mine[0]["fps_total"]


def backends_markdown(section: Mapping[str, Any]) -> list[str]:
    """The per-backend table: fps per mode and the ratio over torch eager, all timed in one run."""
    modes = list(next(iter(section["fps"].values())))
    over = section.get("over_torch", {})
    header = ["backend", "runs on", *(f"`{m}` fps" for m in modes), *(f"`{m}` × torch" for m in modes if over)]
    rows = [[f"`{name}`", section["runs_on"][name], *(fmt(row[m], 1, 1) for m in modes),
             *(fmt(over[name][m], 1, 2) for m in modes if over)] for name, row in section["fps"].items()]
    return [f"Raw model per backend, batch 1, interleaved in {section['rounds']} rounds of "
            f"{section['frames_per_round']} frames (fastest by `{section['fastest_by']}`: `{section['fastest']}`, "
            "served below):", "", table(header, rows)]


def render_markdown(report: Mapping[str, Any]) -> str:
    run = report["run"]
    lines = [f"### vqseg bench — {run['device_name']} ({run['cpus']} CPUs), {run['created']}", ""]
    lines.append(f"Model `{run['model_name']}` ({run['arch']}, network {run['network_size']}, "
                 f"{run['classes']} classes, {run['backend']} on {run['device']}); frames: {run['source']} "
                 f"({run['frame_size']}), wall time {fmt(report.get('wall_seconds'), 1, 0)} s.")
    if report.get("backends"):
        lines += ["", *backends_markdown(report["backends"])]
    model = report.get("model")
    if model:
        order = [m for m in ("dnn", "vqdnn", "vqbnn", "bnn") if m in model["fps"]]
        rows = [[f"`{mode}`", fmt(model["fps"][mode], 1, 1)] for mode in order]
        lines += ["", f"Raw model, this process, batch 1 (bnn N={model['samples']}, "
                      f"{model['torch_threads']} torch threads; prepare + forward + blend + maps):", "",
                  table(["mode", "fps"], rows)]
        ratios = ", ".join(f"{k.replace('_fps', '').replace('_over_', '/')} = {fmt(v, 1, 2)}"
                           for k, v in model["ratios"].items())
        if ratios:
            lines += ["", f"Ratios: {ratios}."]
    server = report.get("server")
    if server:
        header = ["format", "streams", "served fps (total)", "fps per stream", "p50 latency ms", "p99 latency ms",
                  "dropped", "served / reference", f"served / raw `{server['mode']}`"]
        rows = [[f"`{lv.get('format', '')}`", str(lv["streams"]), fmt(lv["fps_total"], 1, 1),
                 fmt(lv["fps_per_stream"], 1, 1), fmt(lv["latency_ms"]["p50"], 1, 0),
                 fmt(lv["latency_ms"]["p99"], 1, 0), str(lv["dropped"]), fmt(lv.get("served_over_reference"), 1, 2),
                 fmt(lv.get("served_over_raw"), 1, 2)] for lv in server["levels"]]
        lines += ["", f"Served over the WebSocket (`vqseg serve` on 127.0.0.1, mode `{server['mode']}`, "
                      f"{server['seconds_per_level']:g} s per level after {server['warmup_seconds']:g} s warm-up, "
                      f"closed loop with at most {server['max_in_flight']} frame(s) in flight per stream, JPEG "
                      f"q{server['jpeg_quality']}; latency from the client taking the frame to its result):",
                  "", table(header, rows)]
        stages = ["decode", "queue", "forward", "blend", "maps", "encode", "total", "outside_forward"]
        stage_rows = [[f"`{lv.get('format', '')}`", str(lv["streams"]),
                       *(fmt(lv.get("stages_ms", {}).get(name), 1, 1) for name in stages)] for lv in server["levels"]]
        lines += ["", "Server stages, medians in ms (the server's own `timing_ms`; "
                      "`outside_forward` = total - forward):", "", table(["format", "streams", *stages], stage_rows)]
        batching = [f"`{lv['format']}` {fmt(lv['batching'], 1, 2)}×"
                    for lv in server["levels"] if lv.get("batching")]
        if batching:
            lines += ["", f"Batching (fps at the most streams / at 1 stream): {', '.join(batching)}."]
        memory = next((lv["buffer_bytes_per_stream"] for lv in server["levels"] if lv.get("buffer_bytes_per_stream")),
                      None)
        if memory:
            lines += ["", f"Ring buffer per stream (server): {memory / 1024:.0f} KiB."]
    reference = report.get("reference")
    if reference:
        rows = [[str(lv["streams"]), fmt(lv["fps_total"], 1, 1), fmt(lv["latency_ms"]["p50"], 1, 0),
                 fmt(lv["latency_ms"]["p99"], 1, 0)] for lv in reference["levels"]]
        lines += ["", f"Reference ({reference['what']}):", "",
                  table(["streams", "fps (total)", "p50 latency ms", "p99 latency ms"], rows)]
    if model and model.get("ring_buffer"):
        rb = model["ring_buffer"]
        shape = f"{rb['window']}·({rb['classes']}+1)·{rb['height']}·{rb['width']}"
        lines += ["", f"K·(C+1)·h·w (K predictions and their entropy maps) = {shape} = {rb['values']:,} values "
                      f"per stream: {rb['bytes_fp32'] / 1024:.0f} KiB at fp32, "
                      f"{rb['bytes_fp16'] / 1024:.0f} KiB at fp16."]
    if run.get("note"):
        lines += ["", run["note"]]
    return "\n".join(lines) + "\n"


def write_report(out: Path, report: Mapping[str, Any]) -> tuple[Path, Path]:
    json_path = write_json(out / "bench.json", report)
    md_path = out / "bench.md"
    md_path.write_text(render_markdown(report))
    return json_path, md_path
