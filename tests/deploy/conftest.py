"""Fixtures of the real-engine image tests: the engine, and the images built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from deploy_files import REPO
from docker_engine import TAG, Docker, base_image, compose_plugin_dir, docker_cli, engine_problem, extra_ca_certs


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
def base(docker: Docker) -> str:
    return base_image(docker)


@pytest.fixture(scope="session")
def cpu_image(docker: Docker, base: str) -> str:
    """vqseg-test:cpu, built from this checkout (BuildKit; one cold build, cached layers after that)."""
    image = f"{TAG}:cpu"
    seconds = docker.build(image, REPO, BASE_IMAGE=base, VARIANT="cpu", EXTRA_CA_CERTS=extra_ca_certs())
    print(f"built {image} on {base} in {seconds:.0f} s")
    return image


@pytest.fixture(scope="session")
def rtsp_image(docker: Docker, base: str) -> str:
    """vqseg-test:demo-rtsp: the compose demo's camera (docker/demo/Dockerfile), on the same Debian base."""
    image = f"{TAG}:demo-rtsp"
    seconds = docker.build(image, REPO / "docker" / "demo", BASE_IMAGE=base)
    print(f"built {image} on {base} in {seconds:.0f} s")
    return image


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """A folder the image's user (uid 10001) can read, to mount at /models."""
    folder = tmp_path / "models"
    folder.mkdir()
    folder.chmod(0o755)
    return folder
