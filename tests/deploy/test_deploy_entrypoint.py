"""The image's command line, run on this machine: the same entrypoint script, arguments and environment.

The Dockerfile's final stage is read for ENTRYPOINT, CMD, ENV, WORKDIR and HEALTHCHECK; image paths
are mapped back to the repository files the Dockerfile copies there and ``/opt/venv/bin`` to this
interpreter's venv. Only the listening address, the port and the model differ (127.0.0.1, a free port,
a tiny checkpoint made here), as a user would set them with ``-e VQSEG_...``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch
from deploy_files import REPO, exec_form, healthcheck, image_file, parse_dockerfile, stage_env

from models import ModelMeta, create_model, save_checkpoint

VENV_BIN = Path(sys.executable).parent
IMAGE_VENV_BIN = "/opt/venv/bin"
START_TIMEOUT = 45.0
STOP_TIMEOUT = 20.0


def _image_command_line() -> tuple[list[str], dict[str, str], str]:
    """(argv with repository paths, the image's ENV, the image's WORKDIR)."""
    dockerfile = parse_dockerfile()
    final = dockerfile.final
    entrypoint = exec_form(final.last("ENTRYPOINT"))
    argv = [str(image_file(dockerfile, entrypoint[0])), *entrypoint[1:], *exec_form(final.last("CMD"))]
    return argv, stage_env(dockerfile, final), final.last("WORKDIR").args


def _host_env(image_env: dict[str, str], home: Path, **overrides: str) -> dict[str, str]:
    env = dict(image_env)
    env["PATH"] = (
        image_env["PATH"].replace(IMAGE_VENV_BIN, str(VENV_BIN)).replace("$PATH", "/usr/local/bin:/usr/bin:/bin")
    )
    env["HOME"] = str(home)
    env.update(overrides)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def fake_vqseg(tmp_path: Path) -> Path:
    """A ``vqseg`` on PATH that prints its arguments: the entrypoint's dispatch without the server."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("vqseg", "python"):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} $*"\n')
        script.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "vqseg serve"),
        (["serve", "--port", "9000"], "vqseg serve --port 9000"),
        (["--port", "9000"], "vqseg serve --port 9000"),
        (
            ["stream", "rtsp://rtsp:8554/demo", "--stream-id", "demo"],
            # client commands run through the image's SIGTERM wrapper
            "python /usr/local/share/vqseg/stop_gracefully.py stream rtsp://rtsp:8554/demo --stream-id demo",
        ),
        (["export", "--help"], "vqseg export --help"),
        (["echo", "any", "command"], "any command"),
    ],
)
def test_entrypoint_dispatch(fake_vqseg: Path, args: list[str], expected: str) -> None:
    env = {"PATH": f"{fake_vqseg}:/usr/bin:/bin"}
    script = REPO / "docker" / "entrypoint.sh"
    result = subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=10, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_entrypoint_refuses_a_missing_model(fake_vqseg: Path, tmp_path: Path) -> None:
    env = {"PATH": f"{fake_vqseg}:/usr/bin:/bin", "VQSEG_MODEL": str(tmp_path / "absent.pt")}
    script = REPO / "docker" / "entrypoint.sh"
    result = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=10, check=False)
    assert result.returncode == 78
    assert "absent.pt is not a file" in result.stderr and "/models" in result.stderr
    assert result.stdout == "", "the server is not started"


def test_healthcheck_fails_when_nothing_listens() -> None:
    _argv, image_env, _workdir = _image_command_line()
    final = parse_dockerfile().final
    check = healthcheck(final)
    assert check is not None
    command = [sys.executable, str(image_file(parse_dockerfile(), check.command[1]))]
    env = {**image_env, "PATH": "/usr/bin:/bin", "VQSEG_PORT": str(_free_port())}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=10, check=False)
    assert result.returncode == 1
    assert "healthz" in result.stderr


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("server.commands.serve") is None,
    reason="vqseg serve is not written yet (server/commands/serve.py): the image's command cannot start a server",
)
@pytest.mark.skipif(not (VENV_BIN / "vqseg").is_file(), reason="no vqseg console script beside this interpreter")
def test_image_command_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    meta = ModelMeta(
        arch="bayesian_unet",
        class_names=("a", "b", "c", "d"),
        palette=((0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)),
        input_size=(32, 48),
        dropout=0.5,
        name="deploy-tiny",
        arch_options={"width": 4},
    )
    torch.manual_seed(0)
    model = create_model(meta.arch, meta.num_classes, meta.dropout, **meta.arch_options)
    checkpoint = save_checkpoint(tmp_path / "models" / "tiny.pt", model, meta)

    argv, image_env, workdir = _image_command_line()
    assert image_env["VQSEG_HOST"] == "0.0.0.0" and workdir == "/data"
    port = _free_port()
    env = _host_env(
        image_env,
        home=tmp_path / "home",
        VQSEG_HOST="127.0.0.1",
        VQSEG_PORT=str(port),
        VQSEG_MODEL=str(checkpoint),
    )
    (tmp_path / "home").mkdir()
    data = tmp_path / "data"  # the image's WORKDIR
    data.mkdir()
    log_path = tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=data, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError):
                status, _ = _get(f"{base}/healthz")
                if status == 200:
                    break
            time.sleep(0.25)
        assert status == 200, f"/healthz never answered 200 (exit {process.poll()}):\n{log_path.read_text()[-4000:]}"

        # the entrypoint exec'd the server: the process Docker signals IS the server, not a shell
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
        assert not cmdline[0].endswith(b"sh"), cmdline
        assert any(part.endswith(b"vqseg") for part in cmdline), cmdline

        # the image's HEALTHCHECK command, with the same environment
        check = healthcheck(parse_dockerfile().final)
        assert check is not None and check.command[0] == "python"
        command = [str(VENV_BIN / "python"), str(image_file(parse_dockerfile(), check.command[1]))]
        timeout = float(check.options["timeout"].rstrip("s"))
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout + 5, check=False)
        assert result.returncode == 0, result.stderr

        # the model came from VQSEG_MODEL, not the embedded default
        while time.monotonic() < deadline:
            status, body = _get(f"{base}/v1/model")
            if status == 200:
                break
            time.sleep(0.25)
        assert status == 200, body
        assert json.loads(body)["name"] == "deploy-tiny"

        # `docker stop`: SIGTERM, then a graceful shutdown well within the grace period. uvicorn
        # re-raises the signal once it has shut down, so "killed by SIGTERM" is a clean exit too.
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=STOP_TIMEOUT)
        log = log_path.read_text()
        assert returncode in (0, -signal.SIGTERM), f"exit {returncode} after SIGTERM:\n{log[-4000:]}"
        assert "Application shutdown complete" in log, log[-4000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
