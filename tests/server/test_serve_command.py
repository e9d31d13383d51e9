"""``vqseg serve`` as a process: it serves, and SIGTERM closes WebSockets with 1001 and ends the process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.server.conftest import make_frame


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_process_and_sigterm(tiny_checkpoint: Path) -> None:
    port = free_port()
    env = {**os.environ, "VQSEG_MAX_WAIT_MS": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "vqseg", "serve", "--port", str(port), "--model", str(tiny_checkpoint),
           "--device", "cpu", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server never became ready"
            time.sleep(0.1)
        with connect(f"ws://127.0.0.1:{port}/v1/streams/cli/ws", max_size=None) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
            ws.send(make_frame())
            assert json.loads(ws.recv(timeout=10))["type"] == "result"
            proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed):
                while True:
                    ws.recv(timeout=10)
            assert ws.close_code == 1001
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
