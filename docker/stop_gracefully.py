"""Run a vqseg command so that SIGTERM stops it like Ctrl-C: the image's wrapper for client commands.

    python stop_gracefully.py stream rtsp://camera/stream --server ws://vqseg:8000 ...

``docker stop`` (and Kubernetes) send SIGTERM. A Python program that runs as a container's PID 1 does
not die of it (the kernel ignores default-action signals for PID 1), so ``vqseg stream`` would be
killed after the grace period (exit 137) with its stream left open. Here SIGTERM is turned into the
SIGINT that Ctrl-C sends: asyncio cancels the stream, the WebSocket closes normally (1000), the
command prints its figures and exits 0. The server (``vqseg serve``) handles SIGTERM itself and does not
need this.
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupt(signum: int, frame: object) -> None:
    del signum, frame
    os.kill(os.getpid(), signal.SIGINT)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    from vqseg.cli import main as vqseg_main

    return vqseg_main(argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
