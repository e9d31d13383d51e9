"""The CPU image, built and run on a real Docker engine: what `docker run vqseg:cpu` promises.

One build per session (``cpu_image``); each test runs its own container with ``--network host`` on a
free 127.0.0.1 port. Skipped, with the reason, where no engine answers (see docker_engine.py).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import websockets
from deploy_files import REPO
from docker_engine import Docker, container, free_port, http, jpeg, wait_health, wait_http

pytestmark = [pytest.mark.slow, pytest.mark.docker]

START_TIMEOUT = 120.0


async def _ws_session(url: str, frames: list[bytes], then: object = None) -> tuple[dict, list[dict], int | None]:
    """Push ``frames`` over the stream WebSocket, one result each; then await ``then`` (a coroutine) while
    reading until the server closes. Returns (hello, results, the close code the server sent)."""
    async with websockets.connect(url, max_size=None, proxy=None) as ws:
        hello = json.loads(await ws.recv())
        results = []
        for frame in frames:
            await ws.send(frame)
            while True:
                message = json.loads(await ws.recv())
                if message.get("type") == "result":
                    results.append(message)
                    break
        if then is None:
            return hello, results, None
        task = asyncio.ensure_future(then)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), timeout=60)
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
        await task
        return hello, results, code


def stream_over_websocket(url: str, frames: list[bytes], then: object = None) -> tuple[dict, list[dict], int | None]:
    """The WebSocket client of these tests (the protocol of docs/protocol.md, `websockets`)."""
    return asyncio.run(_ws_session(url, frames, then))


def _server_options(port: int, *extra: str) -> list[str]:
    return ["--network", "host", "-e", "VQSEG_HOST=127.0.0.1", "-e", f"VQSEG_PORT={port}", *extra]


def _name(kind: str) -> str:
    return f"vqseg-test-{kind}-{uuid.uuid4().hex[:8]}"


def test_image_serves_streams_is_healthy_and_drains_on_stop(docker: Docker, cpu_image: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with container(docker, _name("serve"), cpu_image, options=_server_options(port)) as name:
        running = lambda: docker.inspect(name)["State"]["Running"]  # noqa: E731
        assert wait_http(f"{base}/readyz", START_TIMEOUT, alive=running) == 200, "never ready"
        status, _, body = http(f"{base}/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, _, body = http(f"{base}/v1/model")
        assert status == 200
        model = json.loads(body)
        assert model["name"] == "vqseg_default", "the embedded default model"

        # a REST frame
        status, _, body = http(f"{base}/v1/streams/rest-1/frames", data=jpeg(0),
                               headers={"Content-Type": "image/jpeg"}, timeout=60)
        assert status == 200, body[:500]
        result = json.loads(body)
        assert result["type"] == "result" and result["stream_id"] == "rest-1"

        # a WebSocket stream
        frames = [jpeg(i) for i in range(3)]
        hello, results, _ = stream_over_websocket(f"ws://127.0.0.1:{port}/v1/streams/ws-1/ws", frames)
        assert hello["type"] == "hello" and hello["stream_id"] == "ws-1"
        assert [r["stream_id"] for r in results] == ["ws-1"] * 3

        # non-root: the server process (PID 1: the entrypoint exec'd it) runs as uid 10001
        status_lines = docker.run("exec", name, "cat", "/proc/1/status").stdout
        uid_line = next(line for line in status_lines.splitlines() if line.startswith("Uid:"))
        assert uid_line.split()[1:] == ["10001"] * 4, uid_line
        cmdline = docker.run("exec", name, "cat", "/proc/1/cmdline").stdout.split("\0")
        assert any(part.endswith("vqseg") for part in cmdline), cmdline

        # the image's HEALTHCHECK (every 10 s) reports healthy
        assert wait_health(docker, name, timeout=60) == "healthy"

        # `docker stop` while a stream is open: the client gets 1001, the server exits 0
        async def stop() -> None:
            process = await asyncio.create_subprocess_exec(docker.cli, "stop", "-t", "30", name,
                                                           stdout=subprocess.DEVNULL)
            await process.wait()

        _, results, code = stream_over_websocket(f"ws://127.0.0.1:{port}/v1/streams/ws-2/ws", [jpeg(9)], stop())
        assert len(results) == 1
        assert code == 1001, f"close code {code}"
        state = docker.inspect(name)["State"]
        assert not state["Running"] and state["ExitCode"] == 0, state
        assert "Application shutdown complete" in docker.run("logs", name).stderr


def test_image_serves_a_mounted_onnx_model(docker: Docker, cpu_image: str, street_checkpoint: Path,
                                           models_dir: Path) -> None:
    onnx = models_dir / "street.onnx"
    export = subprocess.run(
        [sys.executable, "-m", "vqseg.cli", "export", "--model", str(street_checkpoint), "--out", str(onnx)],
        capture_output=True, text=True, timeout=300, check=False, cwd=REPO,
    )
    assert export.returncode == 0, export.stdout[-2000:] + export.stderr[-2000:]
    for path in models_dir.iterdir():
        path.chmod(0o644)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    options = _server_options(port, "-v", f"{models_dir}:/models:ro", "-e", "VQSEG_MODEL=/models/street.onnx")
    with container(docker, _name("onnx"), cpu_image, options=options) as name:
        running = lambda: docker.inspect(name)["State"]["Running"]  # noqa: E731
        assert wait_http(f"{base}/readyz", START_TIMEOUT, alive=running) == 200, "never ready"
        model = json.loads(http(f"{base}/v1/model")[2])
        # backend auto: OpenVINO for an .onnx file on a CPU (the image ships every CPU runtime)
        assert model["backend"] == "openvino" and model["name"] == "tiny-eval", model
        assert model["backend_choice"].startswith("openvino (auto: cpu"), model
        status, _, body = http(f"{base}/v1/streams/onnx-1/frames", data=jpeg(1), headers={"Content-Type": "image/jpeg"},
                               timeout=60)
        assert status == 200, body[:500]
        assert json.loads(body)["stream_id"] == "onnx-1"


def test_image_refuses_a_model_that_is_not_mounted(docker: Docker, cpu_image: str) -> None:
    result = docker.run("run", "--rm", "--network", "none", "-e", "VQSEG_MODEL=/models/absent.pt", cpu_image,
                        check=False, timeout=60)
    assert result.returncode == 78, result.stdout + result.stderr
    assert "/models/absent.pt is not a file" in result.stderr


def test_image_runs_every_cpu_backend(docker: Docker, cpu_image: str) -> None:
    """One image, every CPU runtime: torch, ONNX Runtime and OpenVINO each load the embedded model (the
    ONNX ones through the export cache in the container's home) and keep their dropout masks live."""
    script = (
        "import torch\n"
        "from models import load_segmenter\n"
        "for name in ('torch', 'onnx', 'openvino'):\n"
        "    seg = load_segmenter(None, 'cpu', name)\n"
        "    x = torch.rand(1, 3, *seg.meta.input_size)\n"
        "    print(name, seg.backend, not torch.equal(seg.predict(x, True), seg.predict(x, True)))\n"
    )
    result = docker.run("run", "--rm", "--network", "none", cpu_image, "python", "-c", script, check=False,
                        timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stdout.split("\n")[-4:-1] == ["torch torch True", "onnx onnx True", "openvino openvino True"]
