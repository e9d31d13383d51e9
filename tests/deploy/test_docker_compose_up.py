"""docker-compose.yml brought up on a real engine: `--profile cpu` serves, `--profile demo-cpu` streams.

The images are the session's (``vqseg-test:cpu``, ``vqseg-test:demo-rtsp``: ``VQSEG_IMAGE=vqseg-test``),
so compose builds nothing. Each test is its own compose project on free 127.0.0.1 ports, taken down
with its volumes at the end.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from deploy_files import REPO
from docker_engine import TAG, Docker, free_port, http, wait_http

pytestmark = [pytest.mark.slow, pytest.mark.docker]


@contextmanager
def compose_project(docker: Docker, tmp_path: Path, *profiles: str) -> Iterator[tuple[list[str], dict[str, str]]]:
    env_file = tmp_path / "vqseg.env"
    env_file.write_text("VQSEG_DEVICE=cpu\nVQSEG_LOG_LEVEL=info\n")
    env = {
        "VQSEG_IMAGE": TAG,
        "VQSEG_COMPOSE_ENV_FILE": str(env_file),
        "VQSEG_PUBLISH_ADDRESS": "127.0.0.1",
        "VQSEG_PUBLISH_PORT": str(free_port()),
        "DEMO_RTSP_PUBLISH_PORT": str(free_port()),
        "VQSEG_MODELS_DIR": str(REPO / "docker" / "user-models"),
    }
    base = ["compose", "-f", str(REPO / "docker-compose.yml"), "-p", f"vqseg-test-{uuid.uuid4().hex[:8]}"]
    for profile in profiles:
        base += ["--profile", profile]
    try:
        yield base, env
    finally:
        logs = docker.run(*base, "logs", "--no-color", "--tail", "30", env=env, check=False, timeout=60)
        print(f"--- compose logs\n{logs.stdout[-6000:]}{logs.stderr[-2000:]}")
        docker.run(*base, "down", "-v", "--timeout", "20", env=env, check=False, timeout=180)


def _containers(docker: Docker, base: list[str], env: dict[str, str]) -> dict[str, dict]:
    """service name -> its container's inspect data (all containers of the project, stopped ones too)."""
    ids = docker.run(*base, "ps", "-a", "-q", env=env).stdout.split()
    found = {}
    for cid in ids:
        data = docker.inspect(cid)
        found[data["Config"]["Labels"]["com.docker.compose.service"]] = data
    return found


def _wait_service(docker: Docker, base: list[str], env: dict[str, str], service: str, health: str,
                  timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    data: dict = {}
    while time.monotonic() < deadline:
        data = _containers(docker, base, env).get(service, {})
        if data.get("State", {}).get("Health", {}).get("Status") == health:
            return data
        time.sleep(1)
    raise AssertionError(f"{service} not {health} within {timeout:.0f} s: {json.dumps(data.get('State'))[:1500]}")


def test_compose_cpu_profile_serves(docker: Docker, cpu_image: str, tmp_path: Path) -> None:
    assert cpu_image == f"{TAG}:cpu"
    with compose_project(docker, tmp_path, "cpu") as (base, env):
        docker.run(*base, "up", "-d", env=env, timeout=180)
        url = f"http://127.0.0.1:{env['VQSEG_PUBLISH_PORT']}"
        assert wait_http(f"{url}/readyz", 120) == 200
        status, _, body = http(f"{url}/v1/model")
        assert status == 200 and json.loads(body)["name"] == "vqseg_default"
        server = _wait_service(docker, base, env, "vqseg-cpu", "healthy", 60)
        assert server["Config"]["User"] == "10001:10001"
        docker.run(*base, "stop", "vqseg-cpu", env=env, timeout=60)
        assert _containers(docker, base, env)["vqseg-cpu"]["State"]["ExitCode"] == 0


def test_compose_demo_streams_the_rtsp_camera(docker: Docker, cpu_image: str, rtsp_image: str,
                                              tmp_path: Path) -> None:
    assert rtsp_image == f"{TAG}:demo-rtsp" and cpu_image == f"{TAG}:cpu"
    with compose_project(docker, tmp_path, "demo-cpu") as (base, env):
        docker.run(*base, "up", "-d", env=env, timeout=300)
        services = _containers(docker, base, env)
        assert set(services) == {"vqseg-cpu", "demo-clip-cpu", "rtsp", "demo-client-cpu"}, sorted(services)
        clip = services["demo-clip-cpu"]
        assert clip["State"]["ExitCode"] == 0 and "Health" not in clip["State"], "a one-shot job, no health check"
        _wait_service(docker, base, env, "rtsp", "healthy", 90)
        client = _wait_service(docker, base, env, "demo-client-cpu", "healthy", 120)
        # the client's check is its own (the server has its stream), not the server's inherited /healthz
        assert client["Config"]["Healthcheck"]["Test"][-1].endswith("healthcheck.py")
        assert "VQSEG_HEALTHCHECK_URL=http://vqseg:8000/v1/streams/demo" in client["Config"]["Env"]

        # the demo stream runs: its frame count grows on the server
        url = f"http://127.0.0.1:{env['VQSEG_PUBLISH_PORT']}/v1/streams/demo"
        first = json.loads(http(url)[2])
        deadline = time.monotonic() + 60
        later = first
        while time.monotonic() < deadline and later["frames"] <= first["frames"] + 3:
            time.sleep(2)
            later = json.loads(http(url)[2])
        assert later["frames"] > first["frames"] + 3, (first, later)

        # the client stops cleanly on SIGTERM (docker stop): exit 0 well before the grace period ends
        started = time.monotonic()
        docker.run(*base, "stop", "demo-client-cpu", env=env, timeout=60)
        elapsed = time.monotonic() - started
        state = _containers(docker, base, env)["demo-client-cpu"]["State"]
        assert state["ExitCode"] == 0, (state, elapsed)
        assert not state["OOMKilled"]
        logs = docker.run(*base, "logs", "--no-color", "demo-client-cpu", env=env).stdout
        assert '"stream_id": "demo"' in logs, logs[-2000:]  # the figures it prints when it stops
