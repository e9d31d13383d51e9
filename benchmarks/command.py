"""``vqseg bench``: the raw model's frames per second per mode, the served figures (fps, p50/p99
latency end to end over the WebSocket, dropped frames, memory per stream, the server's per-stage
medians) for 1, 4 and 8 concurrent streams and each result format, and the same model behind a bare
WebSocket loop (the reference), measured in one run. Writes ``bench.json`` and ``bench.md`` to ``--out``.

The run is a list of sections (``model``, ``server``); each has its own argument group and a
``--skip-...`` flag. ``--load``, ``--soak`` and ``--hostile`` run the reliability tests instead (docs/reliability.md):
each starts its own server and writes ``load.*`` / ``soak.*`` into ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.backends import BACKENDS
from streaming import Mode, parse_mode

if TYPE_CHECKING:
    from models.capabilities import Capabilities

QUICK_SOURCE = "synthetic:street?seed=7&w=160&h=120&fps=15"


def _modes(text: str) -> tuple[Mode, ...]:
    try:
        return tuple(parse_mode(m) for m in text.split(",") if m.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated stream counts, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("stream counts must be >= 1")
    return counts


def _formats(text: str) -> tuple[str, ...]:
    from benchmarks.server_bench import FORMATS

    names = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown format(s) {unknown}; choose from {', '.join(FORMATS)}")
    return names


def _backends(text: str) -> tuple[str, ...]:
    from benchmarks.backend_bench import parse_backends

    return parse_backends(text)


def _pair(text: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers like 2,10, got {text!r}") from None
    if not 0 < low <= high:
        raise argparse.ArgumentTypeError("expected 0 < low <= high")
    return low, high


def configure(parser: argparse.ArgumentParser) -> None:
    from benchmarks.scene import DEFAULT_SCENE

    add = parser.add_argument
    add("--model", type=Path, help="checkpoint (.pt) or ONNX file (default: the embedded model)")
    add("--device", default="auto", help="auto | cpu | cuda[:N] (default auto), for the model and the server")
    add("--out", type=Path, default=Path("out/bench"), help="output folder (default out/bench)")
    add("--source", help=f"scene to stream (default {DEFAULT_SCENE}; --quick: {QUICK_SOURCE})")
    add("--frames", type=int, help="distinct frames rendered up front and looped (default 30; --quick: 6)")
    add("--quick", action="store_true", help="CI size: a few seconds in all")
    add("--backend", choices=BACKENDS, help="backend of the model and the server: auto (default; VQSEG_BACKEND), "
        "torch, onnx, openvino")
    add("--threads", type=int, help="CPU threads of the runtime, here and in the server (default: torch's)")

    model = parser.add_argument_group("raw model (in this process, batch 1)")
    model.add_argument("--modes", type=_modes, default=tuple(Mode), help="modes to time (default all four)")
    model.add_argument("--samples", type=int, help="N passes per frame for bnn (default 30; --quick: 4)")
    model.add_argument("--rounds", type=int, help="rounds, the mode order rotating (default 4; --quick: 2)")
    model.add_argument("--frames-per-round", type=int, help="frames per mode per round (default 5; --quick: 2)")
    model.add_argument("--bnn-rounds", type=int, help="rounds of 1 bnn frame vs 1 vqbnn frame (default 3; --quick: 1)")
    model.add_argument("--skip-model", action="store_true", help="do not time the raw model")
    model.add_argument("--backends", type=_backends, help="time these CPU backends side by side (e.g. "
                       "torch,onnx,openvino,int8; bnn left out), then serve the fastest")
    model.add_argument("--int8-model", type=Path, help="int8 file for --backends int8 (default: the checkpoint "
                       "quantized once into the cache, calibrated on synthetic frames)")

    served = parser.add_argument_group("served (vqseg serve on 127.0.0.1, WebSocket clients in this process)")
    served.add_argument("--streams", type=_counts, help="concurrency levels (default 1,4,8; --quick: 1,2)")
    served.add_argument("--seconds", type=float, help="timed seconds per level (default 15; --quick: 1.5)")
    served.add_argument("--warmup", type=float, help="untimed seconds per level first (default 3; --quick: 0.5)")
    served.add_argument("--mode", choices=[m.value for m in Mode], default="vqbnn", help="stream mode (vqbnn)")
    served.add_argument("--max-in-flight", type=int, default=1,
                        help="unanswered frames per stream, at most (default 1: no frame dropped)")
    served.add_argument("--jpeg-quality", type=int, default=85, help="JPEG quality of the frames sent (85)")
    served.add_argument("--port", type=int, default=0, help="port of the server it starts (default 0: a free one)")
    served.add_argument("--server", help="benchmark this running server (ws://host:port) instead of starting one; "
                        "the raw model still runs here")
    served.add_argument("--formats", type=_formats, help="result formats: binary, binary-all, json, json-all, "
                        "binary-frame (default binary,json,binary-all,json-all; --quick: binary,json)")
    served.add_argument("--skip-server", action="store_true", help="do not benchmark the server")
    served.add_argument("--pin", action="store_true", help="pin the server to CPU 0 and this process (the "
                        "WebSocket client) to CPU 1 with taskset/sched_setaffinity, so served fps is not the client's")
    served.add_argument("--skip-reference", action="store_true",
                        help="do not run the bare-endpoint reference (benchmarks.bare_endpoint)")

    load = parser.add_argument_group("load test (--load: instead of the sections above; docs/reliability.md)")
    load.add_argument("--load", action="store_true", help="many WebSocket streams + REST callers for a fixed time")
    load.add_argument("--load-seconds", type=float, default=60.0, help="duration (default 60)")
    load.add_argument("--load-streams", type=int, default=16, help="concurrent WebSocket streams (default 16)")
    load.add_argument("--load-rest", type=int, default=4, help="concurrent REST callers (default 4)")
    load.add_argument("--load-fps", type=float, default=15.0, help="frames per second per WebSocket stream (15)")
    soak = parser.add_argument_group("soak test (--soak: instead of the sections above; docs/reliability.md)")
    soak.add_argument("--soak", action="store_true", help="streams opening and closing for a long time; RSS flat?")
    soak.add_argument("--soak-minutes", type=float, default=10.0, help="duration in minutes (default 10)")
    soak.add_argument("--soak-streams", type=int, default=6, help="WebSocket streams open at any time (default 6)")
    soak.add_argument("--soak-lifetime", type=_pair, default=(2.0, 10.0), help="stream lifetime range, s (2,10)")
    soak.add_argument("--soak-fps", type=float, default=10.0, help="frames per second per stream (default 10)")
    soak.add_argument("--soak-sample", type=float, default=2.0, help="seconds between RSS samples (default 2)")
    soak.add_argument("--soak-warmup", type=float, default=60.0, help="seconds left out of the fit (default 60)")
    soak.add_argument("--soak-idle-timeout", type=float, default=3.0, help="the server's idle timeout, s (3)")
    hostile = parser.add_argument_group("hostile load (--hostile: instead of the sections above; docs/reliability.md)")
    hostile.add_argument("--hostile", action="store_true", help="good streams without, then with, attackers")
    hostile.add_argument("--hostile-seconds", type=float, default=300.0, help="attack phase, s (default 300)")
    hostile.add_argument("--hostile-baseline-seconds", type=float,
                         help="baseline phase without attackers, s (default: --hostile-seconds)")
    hostile.add_argument("--hostile-streams", type=int, default=32, help="good WebSocket streams, 1..32 (default 32)")
    hostile.add_argument("--hostile-fps", type=float, default=5.0, help="frames per second per good stream (5)")
    hostile.add_argument("--hostile-class-seconds", type=float, default=20.0,
                         help="then each round-3 attack class alone, for its RSS peak, s (default 20; 0: skip)")


def _defaults(args: argparse.Namespace) -> None:
    from benchmarks.scene import DEFAULT_SCENE

    def pick(value: Any, full: Any, quick: Any) -> Any:
        return value if value is not None else (quick if args.quick else full)

    args.source = pick(args.source, DEFAULT_SCENE, QUICK_SOURCE)
    args.frames = pick(args.frames, 30, 6)
    args.samples = pick(args.samples, 30, 4)
    args.rounds = pick(args.rounds, 4, 2)
    args.frames_per_round = pick(args.frames_per_round, 5, 2)
    args.bnn_rounds = pick(args.bnn_rounds, 3, 1)
    args.streams = pick(args.streams, (1, 4, 8), (1, 2))
    args.seconds = pick(args.seconds, 15.0, 1.5)
    args.warmup = pick(args.warmup, 3.0, 0.5)
    args.formats = pick(args.formats, ("binary", "json", "binary-all", "json-all"), ("binary", "json"))


def run(args: argparse.Namespace) -> int:
    import torch

    from benchmarks.model_bench import ModelBenchConfig, run_model_bench
    from benchmarks.report import add_ratios, render_markdown, write_report
    from benchmarks.scene import render_frames
    from models import CheckpointError, default_checkpoint_path, load_segmenter
    from models.capabilities import capabilities_of

    _defaults(args)
    for noisy in ("httpx", "vqseg_client.client", "vqseg_client.local_server"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started = time.monotonic()
    model_path = args.model or default_checkpoint_path()
    if not Path(model_path).is_file():
        print(f"vqseg bench: no model file at {model_path} (train one with 'vqseg train', or pass --model)")
        return 2
    if args.load or args.soak or args.hostile:
        from benchmarks.stress_command import run_stress

        return run_stress(args, Path(model_path))
    if args.pin and len(os.sched_getaffinity(0)) < 2:
        print("vqseg bench: --pin needs two CPUs (server on CPU 0, client on CPU 1)")
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    loaded: list[Any] = []
    try:
        if args.backends:
            from benchmarks.backend_bench import load_backend

            print(f"loading backends {', '.join(args.backends)} ...", flush=True)
            loaded = [load_backend(n, Path(model_path), args.threads, args.int8_model) for n in args.backends]
            segmenter = loaded[0].segmenter
        else:
            segmenter = load_segmenter(model_path, device=args.device, backend=args.backend, threads=args.threads)
        _fit_modes(args, capabilities_of(segmenter))
    except (CheckpointError, ValueError, OSError, RuntimeError) as exc:
        print(f"vqseg bench: cannot load {model_path}: {exc}")
        return 2
    frames, fps = render_frames(args.source, args.frames)
    meta = segmenter.meta
    report: dict[str, Any] = {"run": {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model_file": str(model_path), "model_name": meta.name, "arch": meta.arch, "classes": meta.num_classes,
        "network_size": "x".join(map(str, meta.input_size)),
        "backend": getattr(segmenter, "backend_choice", segmenter.backend), "threads": torch.get_num_threads(),
        "device": str(segmenter.device),
        "device_name": torch.cuda.get_device_name(segmenter.device) if segmenter.device.type == "cuda"
        else platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "torch": torch.__version__, "source": args.source,
        "frame_size": f"{frames[0].shape[1]}x{frames[0].shape[0]}", "quick": args.quick,
    }}
    serve_as = (Path(model_path), args.backend)
    if loaded and not args.skip_model:
        from benchmarks.backend_bench import backends_section

        print(f"timing the raw model per backend, interleaved: {', '.join(args.backends)} ...", flush=True)
        report["backends"], report["model"], fastest = backends_section(loaded, frames, fps, args)
        for name, row in report["backends"]["fps"].items():
            print(f"  {name}: " + ", ".join(f"{m} {v:.1f} fps" for m, v in row.items()), flush=True)
        report["run"]["backend"] = f"{fastest.name} (the fastest of {', '.join(args.backends)})"
        serve_as = (fastest.model, fastest.backend)
    elif not args.skip_model:
        print(f"timing the raw model: {', '.join(m.value for m in args.modes)} ...", flush=True)
        config = ModelBenchConfig(modes=args.modes, samples=args.samples, rounds=args.rounds,
                                  frames_per_round=args.frames_per_round, bnn_rounds=args.bnn_rounds)
        report["model"] = run_model_bench(segmenter, frames, fps, config)
        print("  " + ", ".join(f"{m} {v:.1f} fps" for m, v in report["model"]["fps"].items()), flush=True)
    del segmenter, loaded
    gc.collect()
    if not args.skip_server:
        code = _server_section(args, serve_as, frames, fps, report)
        if code:
            return code
    add_ratios(report)
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    json_path, md_path = write_report(args.out, report)
    print()
    print(render_markdown(report))
    print(f"wrote {json_path} and {md_path}")
    return 0


def _server_section(args: argparse.Namespace, serve_as: tuple[Path, str | None], frames: list[Any], fps: float,
                    report: dict[str, Any]) -> int:
    from benchmarks.server_bench import ServerBenchConfig, run_server_bench
    from vqseg_client.local_server import ServerStartError

    config = ServerBenchConfig(concurrency=args.streams, seconds=args.seconds, warmup=args.warmup,
                               mode=args.mode, max_in_flight=args.max_in_flight, jpeg_quality=args.jpeg_quality,
                               formats=args.formats)
    if args.server:
        ws_url = args.server.rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        http_url = ws_url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)
        print(f"streaming to {ws_url}: {', '.join(map(str, args.streams))} concurrent stream(s), "
              f"{args.seconds:g} s each ...", flush=True)
        report["server"] = asyncio.run(run_server_bench(ws_url, http_url, frames, fps, config, print))
        report["server"]["url"] = ws_url
        return 0
    model, backend = serve_as
    extra = ("--max-streams", str(max(64, 2 * max(args.streams))), *_runtime_args(backend, args.threads))
    server = _local_server(model, args, extra, args.out / "server.log")
    endpoint = None if args.skip_reference else _bare_endpoint(model, backend, args)
    if args.pin:
        os.sched_setaffinity(0, {1})  # the client (this process) on CPU 1, the servers on CPU 0
    print(f"starting vqseg serve on 127.0.0.1:{server.port}"
          f"{'' if endpoint is None else f' and the bare reference on 127.0.0.1:{endpoint.port}'} ...", flush=True)
    try:
        server.start()
        if endpoint is not None:
            endpoint.start()
    except ServerStartError as exc:
        print(f"vqseg bench: {exc}")
        server.stop()
        return 1
    backend_choice = server.backend()
    try:
        print(f"streaming to backend {backend_choice}: {', '.join(map(str, args.streams))} concurrent stream(s), "
              f"{args.seconds:g} s each ...",
              flush=True)
        section = asyncio.run(run_server_bench(server.ws_url, server.url, frames, fps, config, print,
                                               None if endpoint is None else endpoint.ws_url))
        if "reference" in section:
            report["reference"] = section.pop("reference")
        report["server"] = section
        report["server"]["url"] = f"{server.ws_url} (started by the bench)"
        report["server"]["ready_seconds"] = round(server.ready_seconds or 0.0, 2)
        report["server"]["backend"] = backend_choice
        report["server"]["pinned"] = "server on CPU 0, client on CPU 1" if args.pin else None
    finally:
        server.stop()
        if endpoint is not None:
            endpoint.stop()
    return 0


def _fit_modes(args: argparse.Namespace, capabilities: Capabilities) -> None:
    """Time only what the model can run: a model without dropout (found at load) times dnn and vqdnn
    and serves vqdnn, unless the user named an MC mode (then it is an error naming the reason)."""
    from models.capabilities import usable_modes

    requested = [m.value for m in args.modes]
    args.modes = tuple(Mode(m) for m in usable_modes(capabilities, requested, args.modes != tuple(Mode)))
    if capabilities.refusal(args.mode) is not None:
        args.mode = "vqdnn" if capabilities.deterministic else "vqbnn"
        print(f"the model cannot serve vqbnn ({capabilities.reason}): the served section streams {args.mode}")


def _runtime_args(backend: str | None, threads: int | None) -> tuple[str, ...]:
    return (*(("--backend", backend) if backend else ()), *(("--threads", str(threads)) if threads else ()))


def _local_server(model: Path, args: argparse.Namespace, extra: tuple[str, ...], log_path: Path) -> Any:
    """``vqseg serve`` as a child process, under ``taskset -c 0`` with ``--pin``."""
    from benchmarks.backend_bench import pin_command
    from vqseg_client.local_server import LocalServer

    class Server(LocalServer):
        def command(self) -> list[str]:
            return pin_command(super().command(), 0 if args.pin else None)

    return Server(model, args.port, device=args.device, extra_args=extra, log_path=log_path)


def _bare_endpoint(model: Path, backend: str | None, args: argparse.Namespace) -> Any:
    """``benchmarks.bare_endpoint`` as a child process (like the server), with the served mode's dropout."""
    from benchmarks.backend_bench import pin_command
    from vqseg_client.local_server import LocalServer

    mc = parse_mode(args.mode).mc

    class BareEndpoint(LocalServer):
        def command(self) -> list[str]:
            command = [sys.executable, "-m", "benchmarks.bare_endpoint", "--port", str(self.port), "--device",
                       self.device, "--model", str(model), *(["--mc"] if mc else []),
                       *_runtime_args(backend, args.threads)]
            return pin_command(command, 0 if args.pin else None)

    return BareEndpoint(model, device=args.device, log_path=args.out / "reference.log")

