"""``vqseg serve``: the HTTP + WebSocket inference server (settings: env ``VQSEG_*``, then these flags)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from models import BACKENDS, default_checkpoint_path
from streaming import stream_options
from streaming.options import add_option_flags

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="bind address (default 127.0.0.1; VQSEG_HOST)")
    parser.add_argument("--port", type=int, help="port (default 8000; VQSEG_PORT)")
    parser.add_argument("--model", help="checkpoint (.pt) or ONNX file (default: the embedded model)")
    parser.add_argument("--backend", choices=BACKENDS,
                        help="inference backend: auto (default; VQSEG_BACKEND), torch, onnx or openvino")
    parser.add_argument("--threads", type=int, help="CPU threads of the inference runtime (default: torch's)")
    parser.add_argument("--device", help="auto | cpu | cuda[:N] (default auto)")
    parser.add_argument("--sidecar", help="a foreign model's description (default: MODEL.vqseg.yaml next to it)")
    parser.add_argument("--preset", help="a foreign model's classes: camvid11, cityscapes19, ade20k150")
    parser.add_argument("--input-size", help="HEIGHTxWIDTH a foreign model takes (when its file does not fix it)")
    parser.add_argument("--no-exit-on-error", dest="exit_on_error", action="store_false", default=None,
                        help="keep serving (/readyz 503) when the model cannot load, instead of exiting 1")
    streams = parser.add_argument_group("defaults of new streams (each also VQSEG_<NAME>; clients may change them)")
    add_option_flags(streams, stream_options())
    parser.add_argument("--max-streams", type=int, help="live streams at most (default 64)")
    parser.add_argument("--idle-timeout", type=float, help="seconds before an idle stream is removed (300)")
    parser.add_argument("--max-batch", type=int, help="frames per forward batch at most (8)")
    parser.add_argument("--max-wait-ms", type=float, help="wait for more frames to batch, ms (5)")
    parser.add_argument("--api-key-file", type=Path, help="file holding the API key(s), comma separated")
    parser.add_argument("--cors-origin", action="append", dest="cors_origins", help="allowed origin (repeatable)")
    parser.add_argument("--log-level", dest="server_log_level", help="uvicorn log level (info)")


def run(args: argparse.Namespace) -> int:
    from server.app import create_app
    from server.serving import make_server
    from server.settings import load_settings

    overrides = {
        "host": args.host, "port": args.port, "model": args.model, "backend": args.backend, "device": args.device,
        "threads": args.threads, "sidecar": args.sidecar, "preset": args.preset, "input_size": args.input_size,
        "exit_on_error": args.exit_on_error,
        **{o.name: getattr(args, o.name) for o in stream_options()},
        "max_streams": args.max_streams, "idle_timeout": args.idle_timeout, "max_batch": args.max_batch,
        "max_wait_ms": args.max_wait_ms, "cors_origins": args.cors_origins, "log_level": args.server_log_level,
    }
    if args.api_key_file is not None:
        try:
            overrides["api_key"] = args.api_key_file.read_text().strip()
        except OSError as exc:
            print(f"vqseg serve: cannot read the API key file: {exc}")
            return 2
    try:
        settings = load_settings(**overrides)
    except ValidationError as exc:
        print(f"vqseg serve: invalid settings:\n{exc}")
        return 2
    model = Path(settings.model) if settings.model else default_checkpoint_path()
    if not model.is_file():
        print(f"vqseg serve: no model file at {model} (train one with 'vqseg train', or pass --model)")
        return 2
    app = create_app(settings)
    server = make_server(app, settings)
    runtime = app.state.runtime
    if settings.exit_on_error:  # like Triton's --exit-on-error: a model that cannot load stops the server
        runtime.on_load_failure = lambda reason: setattr(server, "should_exit", True)
    server.run()  # SIGTERM/SIGINT: graceful shutdown (server.serving.GracefulServer)
    if settings.exit_on_error and runtime.worker.failure:
        print(f"vqseg serve: {runtime.worker.failure}", file=sys.stderr)
        return 1
    return 0
