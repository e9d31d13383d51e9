"""``vqseg bench --load`` / ``--soak``: each starts its own ``vqseg serve`` on 127.0.0.1 and writes
``load.json`` + ``load.md`` / ``soak.json`` + ``soak.md`` + ``soak.png`` into ``--out``."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.hostile_bench import HostileConfig, add_server_log, render_hostile, run_hostile, server_env
from benchmarks.load_bench import LoadConfig, run_load
from benchmarks.scene import render_frames
from benchmarks.soak_bench import SoakConfig, run_soak
from benchmarks.soak_plot import draw_rss
from benchmarks.stress_report import render_load, render_soak
from evaluation.report import write_json
from vqseg_client.local_server import LocalServer, ServerStartError


def encode_frames(frames: Sequence[np.ndarray], quality: int) -> list[bytes]:
    """RGB frames to JPEG bytes, once (the traffic sends these over and over)."""
    out = []
    for rgb in frames:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        out.append(buf.tobytes())
    return out


def _run_info(model: Path, args: argparse.Namespace, frames: Sequence[np.ndarray]) -> dict[str, Any]:
    return {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "model_file": str(model),
        "model_name": model.stem, "device": args.device,
        "device_name": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
        "source": args.source, "frame_size": f"{frames[0].shape[1]}x{frames[0].shape[0]}",
    }


def _server(model: Path, args: argparse.Namespace, extra: tuple[str, ...], name: str) -> LocalServer:
    log_path = args.out / f"{name}-server.log"
    server = LocalServer(model, args.port, device=args.device, extra_args=extra, log_path=log_path)
    print(f"starting vqseg serve on 127.0.0.1:{server.port} for the {name} test ...", flush=True)
    return server  # started by ``with``


def _hostile(model: Path, args: argparse.Namespace, run: dict[str, Any], jpegs: list[bytes]) -> None:
    baseline = args.hostile_baseline_seconds if args.hostile_baseline_seconds is not None else args.hostile_seconds
    config = HostileConfig(seconds=args.hostile_seconds, baseline_seconds=baseline, good_streams=args.hostile_streams,
                           fps=args.hostile_fps, mode=args.mode, class_seconds=args.hostile_class_seconds)
    server = LocalServer(model, args.port, device=args.device, env=server_env(config),
                         log_path=args.out / "hostile-server.log")
    print(f"starting vqseg serve on 127.0.0.1:{server.port} for the hostile test ...", flush=True)
    with server:
        assert server.process is not None
        hostile = asyncio.run(run_hostile(server.ws_url, server.url, jpegs, config, server.process.pid, print))
    add_server_log(hostile, args.out / "hostile-server.log")
    write_json(args.out / "hostile.json", {"run": run, "hostile": hostile})
    (args.out / "hostile.md").write_text(render_hostile(run, hostile))
    print(render_hostile(run, hostile))


def run_stress(args: argparse.Namespace, model: Path) -> int:
    frames, _ = render_frames(args.source, args.frames)
    jpegs = encode_frames(frames, args.jpeg_quality)
    run = _run_info(model, args, frames)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        if args.load:
            config = LoadConfig(seconds=args.load_seconds, ws_streams=args.load_streams, rest_callers=args.load_rest,
                                fps=args.load_fps, mode=args.mode)
            with _server(model, args, ("--max-streams", str(config.capacity)), "load") as server:
                assert server.process is not None
                print(f"load: {config.ws_streams} WebSocket streams + {config.rest_callers} REST callers for "
                      f"{config.seconds:g} s ...", flush=True)
                load = asyncio.run(run_load(server.ws_url, server.url, jpegs, config, server.process.pid, print))
            write_json(args.out / "load.json", {"run": run, "load": load})
            (args.out / "load.md").write_text(render_load(run, load))
            print(render_load(run, load))
        if args.soak:
            seconds = args.soak_minutes * 60.0
            config_s = SoakConfig(seconds=seconds, slots=args.soak_streams, fps=args.soak_fps,
                                  lifetime=(args.soak_lifetime[0], args.soak_lifetime[1]),
                                  sample_every=args.soak_sample, warmup=min(args.soak_warmup, seconds / 2),
                                  idle_timeout=args.soak_idle_timeout)
            extra = ("--idle-timeout", str(config_s.idle_timeout), "--max-streams", str(4 * config_s.slots + 64))
            with _server(model, args, extra, "soak") as server:
                assert server.process is not None
                print(f"soak: {config_s.slots} streams at a time for {seconds / 60:g} min ...", flush=True)
                soak = asyncio.run(run_soak(server.ws_url, server.url, jpegs, config_s, server.process.pid, print))
            write_json(args.out / "soak.json", {"run": run, "soak": soak})
            (args.out / "soak.md").write_text(render_soak(run, soak))
            draw_rss(soak["samples"], soak["fit"], config_s.warmup, args.out / "soak.png")
            print(render_soak(run, soak))
        if args.hostile:
            _hostile(model, args, run, jpegs)
    except ServerStartError as exc:
        print(f"vqseg bench: {exc}")
        return 1
    print(f"wrote the results to {args.out}")
    return 0
