"""``vqseg stream SOURCE`` (also ``vqseg-stream`` from the client package alone): push a webcam, RTSP URL,
video file or ``synthetic:`` scene to a server.

Shows and/or writes ``frame | label overlay | uncertainty`` and prints live fps and latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

MODES = ("dnn", "bnn", "vqdnn", "vqbnn")
MAP_CHOICES = ("confidence", "mutual_info", "expected_entropy", "entropy")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="webcam index (0, webcam:0), rtsp:// or http:// URL, video file, synthetic:...")
    parser.add_argument("--server", default="ws://127.0.0.1:8000", help="server base URL (default ws://127.0.0.1:8000)")
    parser.add_argument("--stream-id", help="stream id (default: a fresh client-<random>)")
    parser.add_argument("--api-key", help="API key sent as X-API-Key (default: $VQSEG_API_KEY)")

    stream = parser.add_argument_group("stream parameters (server defaults if not given)")
    stream.add_argument("--mode", choices=MODES)
    stream.add_argument("--tau", type=float, help="importance time constant (seconds, or frames with --clock frames)")
    stream.add_argument("--clock", choices=("seconds", "frames"))
    stream.add_argument("--window", type=int, help="K, predictions blended per frame")
    stream.add_argument("--samples", type=int, help="N passes per frame in bnn")
    stream.add_argument("--max-gap", type=float, help="seconds without frames after which the buffer restarts")
    stream.add_argument("--maps", help=f"extra maps to receive, comma separated: {','.join(MAP_CHOICES)}")
    stream.add_argument("--protocol", type=int, choices=(1, 2), default=2,
                        help="2: binary results at the network's resolution (default); 1: JSON with PNGs")

    client = parser.add_argument_group("client")
    client.add_argument("--frames", type=int, help="stop after this many frames (default: the whole source)")
    client.add_argument("--jpeg-quality", type=int, default=85, help="JPEG quality of the frames sent (85)")
    client.add_argument("--max-in-flight", type=int, default=1,
                        help="frames sent and not yet answered, at most (default 1: every frame sent is answered)")
    pace = client.add_mutually_exclusive_group()
    pace.add_argument("--pace", dest="pace", action="store_true", default=None,
                      help="send at the source's frame rate (default for files and synthetic:)")
    pace.add_argument("--no-pace", dest="pace", action="store_false", help="send as fast as the server answers")
    client.add_argument("--retries", type=int, default=6, help="reconnect attempts in a row (0 = forever)")

    out = parser.add_argument_group("output")
    out.add_argument("--show", action="store_true", help="show the panels in a window (needs a GUI build of OpenCV)")
    out.add_argument("--out", type=Path, help="write the panels to this .mp4")
    out.add_argument("--summary", type=Path, help="write the run's figures (fps, latency, dropped) as JSON")
    out.add_argument("--quiet", action="store_true", help="no progress lines")


def stream_params(args: argparse.Namespace) -> dict[str, object]:
    return {"mode": args.mode, "tau": args.tau, "clock": args.clock, "window": args.window,
            "samples": args.samples, "max_gap": args.max_gap}


def parse_maps(text: str | None) -> list[str]:
    maps = [m.strip() for m in (text or "").split(",") if m.strip()]
    unknown = [m for m in maps if m not in MAP_CHOICES]
    if unknown:
        raise ValueError(f"unknown map(s) {', '.join(unknown)}; choose from {', '.join(MAP_CHOICES)}")
    return maps


def reporter(quiet: bool) -> Callable[[str], None] | None:
    """Progress printer: one rewritten line on a terminal, one line a second otherwise."""
    if quiet:
        return None
    tty = sys.stdout.isatty()

    def report(line: str) -> None:
        print(f"\r{line}\033[K" if tty else line, end="" if tty else "\n", flush=True)

    return report


def run(args: argparse.Namespace) -> int:
    from vqseg_client.client import Backoff, StreamClient, StreamClientError
    from vqseg_client.outputs import Outputs, stream_to_outputs
    from vqseg_client.sources import SourceError

    try:
        maps = parse_maps(args.maps)
        client = StreamClient(
            args.server, args.stream_id, api_key=args.api_key or os.environ.get("VQSEG_API_KEY") or None,
            params=stream_params(args), maps=maps, jpeg_quality=args.jpeg_quality,
            max_in_flight=args.max_in_flight, backoff=Backoff(attempts=args.retries), protocol=args.protocol,
        )
    except ValueError as exc:
        print(f"vqseg stream: {exc}")
        return 2
    outputs = Outputs(video=args.out, show=args.show, report=reporter(args.quiet))
    print(f"streaming {args.source} to {client.url}")
    try:
        stats = asyncio.run(stream_to_outputs(client, args.source, outputs, max_frames=args.frames, pace=args.pace))
    except SourceError as exc:
        print(f"\nvqseg stream: {exc}")
        return 2
    except StreamClientError as exc:
        print(f"\nvqseg stream: {exc}")
        return 1
    except KeyboardInterrupt:
        stats = client.stats
    figures = {"stream_id": client.stream_id, "server": client.server, **stats.to_dict()}
    print(("\n" if sys.stdout.isatty() and not args.quiet else "") + json.dumps(figures))
    if args.out:
        print(f"wrote {args.out}")
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The ``vqseg-stream`` console script of the client package."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="vqseg-stream", description=__doc__.splitlines()[0])
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
