"""``vqseg demo``: start the server on 127.0.0.1, stream the synthetic street scene through it over
the WebSocket, and write ``overlay.mp4`` (frame | label overlay | entropy heat map), a few PNG stills
and ``summary.json`` (frames, fps, latency, dropped). Needs no camera, GPU or network.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from models.backends import BACKENDS
from vqseg_client.demo import DEFAULT_SOURCE, still_indices

__all__ = ["DEFAULT_SOURCE", "configure", "run", "still_indices"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (default out/demo)")
    parser.add_argument("--frames", type=int, default=90, help="frames to stream (default 90: 6 s of video)")
    parser.add_argument("--source", default=DEFAULT_SOURCE, help=f"what to stream (default {DEFAULT_SOURCE})")
    parser.add_argument("--model", help="checkpoint (.pt) or ONNX file (default: the embedded model)")
    parser.add_argument("--port", type=int, default=0, help="server port on 127.0.0.1 (default 0: a free one)")
    parser.add_argument("--device", default="auto", help="server device: auto | cpu | cuda[:N] (default auto)")
    parser.add_argument("--backend", choices=BACKENDS,
                        help="server backend: auto (default; VQSEG_BACKEND), torch, onnx or openvino")
    parser.add_argument("--mode", choices=("dnn", "bnn", "vqdnn", "vqbnn"), help="stream mode (server default vqbnn)")
    parser.add_argument("--stills", type=int, default=4, help="PNG stills to save, spread over the run (default 4)")
    parser.add_argument("--ready-timeout", type=float, default=180.0, help="seconds to wait for the server (180)")


def run(args: argparse.Namespace) -> int:
    from models import default_checkpoint_path
    from vqseg_client.client import StreamClientError
    from vqseg_client.demo import run_demo_client
    from vqseg_client.local_server import LocalServer, ServerStartError

    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.frames < 1:
        print("vqseg demo: --frames must be at least 1")
        return 2
    model = Path(args.model) if args.model else default_checkpoint_path()
    if not model.is_file():
        print(f"vqseg demo: no model file at {model} (train one with 'vqseg train', or pass --model)")
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    extra = ("--backend", args.backend) if args.backend else ()
    server = LocalServer(model, args.port, device=args.device, extra_args=extra, log_path=out / "server.log",
                         ready_timeout=args.ready_timeout)
    print(f"starting vqseg serve on 127.0.0.1:{server.port} with {model.name} ...", flush=True)
    try:
        server.start()
    except ServerStartError as exc:
        print(f"vqseg demo: {exc}")
        return 1
    try:
        backend = server.backend()
        print(f"server ready in {server.ready_seconds:.1f}s, backend {backend}; "
              f"streaming {args.frames} frames of {args.source}", flush=True)
        try:
            demo = run_demo_client(server.ws_url, args.source, out, args.frames, mode=args.mode, stills=args.stills)
        except StreamClientError as exc:
            print(f"\nvqseg demo: {exc}")
            return 1
    finally:
        code = server.stop()
    stats, outputs = demo.stats, demo.outputs
    figures = stats.to_dict()
    summary = {
        **demo.summary(args.source, args.mode),
        "server_ready_seconds": round(server.ready_seconds or 0.0, 2),
        "backend": backend,
        "server_stop": {"signal": server.stopped_by, "exit_code": code},
        "wall_seconds": round(time.monotonic() - started, 2),
        "files": ["overlay.mp4", *(p.name for p in outputs.saved), "server.log"],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print()
    print(f"{stats.results} frames at {figures['fps']} fps; latency p50 {figures['latency_ms']['p50']} ms, "
          f"p99 {figures['latency_ms']['p99']} ms; dropped {stats.dropped}")
    print(f"wrote {out / 'overlay.mp4'}, {len(outputs.saved)} stills and {out / 'summary.json'}")
    return 0

