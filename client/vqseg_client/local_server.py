"""``vqseg serve`` as a child process on 127.0.0.1, for ``vqseg demo`` and ``vqseg bench`` (needs the
server installed in the same interpreter; the client itself does not).

``LocalServer`` starts the real server (its own interpreter, so its CPU work does not share the
caller's GIL), waits until ``/readyz`` answers 200, and stops it gracefully: SIGINT (the server
answers the frames in flight and closes its WebSockets with 1001), then SIGTERM, then SIGKILL, each
with a bounded wait.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)


class ServerStartError(RuntimeError):
    """The server process exited or did not become ready in time."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """``with LocalServer(model=..., port=0) as server:`` ... ``server.ws_url`` ... (stopped on exit).

    ``port`` 0 picks a free port. ``extra_args`` go to ``vqseg serve`` as they are. The server's
    output goes to ``log_path`` (default: discarded).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        port: int = 0,
        *,
        device: str = "auto",
        extra_args: tuple[str, ...] = (),
        log_path: str | Path | None = None,
        ready_timeout: float = 180.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.model = Path(model) if model else None
        self.device = device
        self.extra_args = extra_args
        self.log_path = Path(log_path) if log_path else None
        self.ready_timeout = ready_timeout
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_seconds: float | None = None
        self.stopped_by: str | None = None  # the signal that ended the server (SIGINT = graceful)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "vqseg.cli", "serve", "--host", self.host, "--port", str(self.port),
               "--device", self.device, "--log-level", "warning"]
        if self.model is not None:
            cmd += ["--model", str(self.model)]
        return cmd + list(self.extra_args)

    def start(self) -> LocalServer:
        started = time.monotonic()
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(self.env or {})}
        command = self.command()
        if self.log_path is None:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)
        else:
            with open(self.log_path, "wb") as output:  # the child keeps its own copy of the descriptor
                self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        self.ready_seconds = time.monotonic() - started
        return self

    def backend(self) -> str:
        """The running server's backend and why it runs (``GET /v1/model``'s ``backend_choice``)."""
        try:
            with urllib.request.urlopen(f"{self.url}/v1/model", timeout=30) as reply:
                info = json.load(reply)
        except (OSError, ValueError) as exc:
            return f"unknown (GET /v1/model failed: {exc})"
        return str(info.get("backend_choice") or info.get("backend"))

    def _wait_ready(self, started: float) -> None:
        assert self.process is not None
        while True:
            code = self.process.poll()
            if code is not None:
                raise ServerStartError(f"vqseg serve exited with code {code}{self._log_hint()}")
            if time.monotonic() - started > self.ready_timeout:
                raise ServerStartError(f"vqseg serve not ready after {self.ready_timeout:.0f}s{self._log_hint()}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2.0) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass  # not listening yet, or 503 while warming up
            time.sleep(0.25)

    def _log_hint(self) -> str:
        if self.log_path is None or not self.log_path.is_file():
            return ""
        tail = self.log_path.read_text(errors="replace").strip().splitlines()[-15:]
        return f" (see {self.log_path}):\n" + "\n".join(tail)

    def stop(self, graceful: float = 15.0, hard: float = 5.0) -> int | None:
        """Stop the server; returns its exit code (None if it was not started; uvicorn re-raises the
        signal after its graceful shutdown, so -2 after SIGINT is a clean stop)."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            for sig, wait in ((signal.SIGINT, graceful), (signal.SIGTERM, hard), (signal.SIGKILL, hard)):
                process.send_signal(sig)
                try:
                    code = process.wait(wait)
                    self.stopped_by = sig.name
                    return code
                except subprocess.TimeoutExpired:
                    log.warning("vqseg serve (pid %d) still running after %s; escalating", process.pid, sig.name)
        return process.wait(hard)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
