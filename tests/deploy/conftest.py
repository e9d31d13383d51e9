"""Fixtures of the real-engine image tests: the engine, and the images built once per session.

The session's first image build (the CPU image) runs in the foreground; the demo camera's image and
the GPU image, when a collected test wants them, are built on a background thread meanwhile (the
camera's build is mostly apt downloads, the GPU build reuses the CPU build's torch layer), so a cold
session costs little more than its longest build.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from deploy_files import REPO
from docker_engine import TAG, Docker, base_image, compose_plugin_dir, docker_cli, engine_problem, extra_ca_certs

_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docker-build")
_BUILDS: dict[str, Future[str]] = {}


def _wanted(request: pytest.FixtureRequest, fixture: str) -> bool:
    return any(fixture in getattr(item, "fixturenames", ()) for item in request.session.items)


def _in_background(key: str, build: Callable[[], str]) -> Future[str]:
    if key not in _BUILDS:
        _BUILDS[key] = _POOL.submit(build)
    return _BUILDS[key]


def _build_rtsp(docker: Docker, base: str) -> Callable[[], str]:
    def build() -> str:
        image = f"{TAG}:demo-rtsp"
        seconds = docker.build(image, REPO / "docker" / "demo", BASE_IMAGE=base)
        print(f"built {image} on {base} in {seconds:.0f} s")
        return image

    return build


def _build_vqseg(docker: Docker, base: str, variant: str) -> Callable[[], str]:
    def build() -> str:
        image = f"{TAG}:{variant}"
        seconds = docker.build(image, REPO, BASE_IMAGE=base, VARIANT=variant, EXTRA_CA_CERTS=extra_ca_certs())
        print(f"built {image} on {base} in {seconds:.0f} s")
        return image

    return build


@pytest.fixture(scope="session")
def docker(tmp_path_factory: pytest.TempPathFactory) -> Docker:
    problem = engine_problem()
    if problem is not None:
        if os.environ.get("VQSEG_REQUIRE_DOCKER") == "1":
            pytest.fail(f"VQSEG_REQUIRE_DOCKER=1 but {problem}")
        pytest.skip(f"image tests need a Docker engine: {problem}")
    cli = docker_cli()
    assert cli is not None
    return Docker(cli, compose_plugin_dir(tmp_path_factory.mktemp("docker-config")))


@pytest.fixture(scope="session")
def base(docker: Docker, request: pytest.FixtureRequest) -> str:
    image = base_image(docker)
    if _wanted(request, "rtsp_image"):
        _in_background("rtsp", _build_rtsp(docker, image))
    return image


@pytest.fixture(scope="session")
def cpu_image(docker: Docker, base: str, request: pytest.FixtureRequest) -> str:
    """vqseg-test:cpu, built from this checkout (BuildKit; one cold build, cached layers after that)."""
    image = _build_vqseg(docker, base, "cpu")()
    if _wanted(request, "gpu_image"):
        _in_background("gpu", _build_vqseg(docker, base, "gpu"))
    return image


@pytest.fixture(scope="session")
def gpu_image(docker: Docker, base: str) -> str:
    """vqseg-test:gpu (its torch layer is the CPU image's: VARIANT is declared after it)."""
    return _in_background("gpu", _build_vqseg(docker, base, "gpu")).result()


@pytest.fixture(scope="session")
def rtsp_image(docker: Docker, base: str) -> str:
    """vqseg-test:demo-rtsp: the compose demo's camera (docker/demo/Dockerfile), on the same Debian base."""
    return _in_background("rtsp", _build_rtsp(docker, base)).result()


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """A folder the image's user (uid 10001) can read, to mount at /models."""
    folder = tmp_path / "models"
    folder.mkdir()
    folder.chmod(0o755)
    return folder
