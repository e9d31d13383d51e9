"""The project's nginx router on loopback: real ``vqseg serve`` replicas behind a real Debian nginx.

``render_router_config`` turns docker/lb/nginx.conf (or docker/k8s/nginx.conf) into a config for this
machine and changes nothing of the routing: only where nginx listens, where the replicas are, and
where it writes (each change must match exactly once, so a drifting config fails loudly). Debian's
nginx (1.22) has no ``resolve`` server parameter (1.27.3+), and needs none for fixed loopback addresses.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from deploy_files import REPO
from docker_engine import free_port, http

START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


def _once(pattern: str, replacement: str, text: str, flags: int = 0) -> str:
    new, count = re.subn(pattern, replacement, text, flags=flags)
    if count != 1:
        raise AssertionError(f"expected exactly one match of {pattern!r} in the router config, found {count}")
    return new


def render_router_config(text: str, listen_port: int, replica_ports: Sequence[int], prefix: Path) -> str:
    text = _once(r"^worker_processes\s+\S+;", "worker_processes 1;", text, re.M)
    text = _once(r"^pid\s+\S+;", f"pid {prefix}/nginx.pid;", text, re.M)
    text = _once(r"^error_log\s+\S+\s+(\w+);", rf"error_log {prefix}/error.log \1;", text, re.M)
    text = _once(r"access_log\s+/dev/stdout\s+vqseg;", f"access_log {prefix}/access.log vqseg;", text)
    text, temp_paths = re.subn(r"(_temp_path\s+)/tmp/", rf"\g<1>{prefix}/", text)
    assert temp_paths == 5, temp_paths
    text = _once(r"^\s*resolver\s+[^;]*;\n", "", text, re.M)
    servers = re.findall(r"^(\s*)server\s+\S+\s+resolve\s+([^;]*);\n", text, re.M)
    assert len(servers) >= 2, "one `server NAME:8000 resolve ...;` line per replica"
    indent, options = servers[0]
    lines = "".join(f"{indent}server 127.0.0.1:{port} {options};\n" for port in replica_ports)
    text, count = re.subn(r"(?:^\s*server\s+\S+\s+resolve\s+[^;]*;\n)+", lines, text, flags=re.M)
    assert count == 1, "the server lines are one block"
    return _once(r"listen\s+8080;", f"listen 127.0.0.1:{listen_port};", text)


@dataclass
class Replica:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> int:
        """SIGTERM (what an orchestrator sends) and wait: the replica drains and exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.process.returncode


def start_replica(checkpoint: Path, log_dir: Path, port: int | None = None) -> Replica:
    port = port or free_port()
    log = log_dir / f"replica-{port}.log"
    env = {**os.environ, "PYTHONPATH": str(REPO), "VQSEG_MAX_WAIT_MS": "1", "OMP_NUM_THREADS": "1"}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "vqseg.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--model", str(checkpoint)],
            cwd=log_dir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    return Replica(port, process, log)


def wait_ready(replicas: Sequence[Replica]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    for replica in replicas:
        while True:
            if replica.process.poll() is not None:
                raise AssertionError(f"replica {replica.port} exited:\n{replica.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if http(f"{replica.url}/readyz", timeout=3)[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"replica {replica.port} never ready:\n{replica.log.read_text()[-3000:]}")
            time.sleep(0.3)


@contextlib.contextmanager
def nginx_router(config: Path, replicas: Sequence[Replica], workdir: Path) -> Iterator[str]:
    """Run Debian's nginx on the rendered ``config`` as a plain process; yield its base URL."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = workdir / f"nginx-{config.parent.name}"
    prefix.mkdir(mode=0o755)
    port = free_port()
    rendered = prefix / "nginx.conf"
    rendered.write_text(render_router_config(config.read_text(), port, [r.port for r in replicas], prefix))
    command = [nginx, "-p", str(prefix), "-e", str(prefix / "startup.log"), "-c", str(rendered)]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30, check=False)
    assert check.returncode == 0, f"nginx -t refused the config:\n{check.stderr}"
    process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, f"nginx exited: {process.stderr.read().decode() if process.stderr else ''}"
            with contextlib.suppress(OSError):
                if http(f"{base}/__lb/healthz", timeout=2)[0] == 200:
                    break
            assert time.monotonic() < deadline, "nginx never answered /__lb/healthz"
            time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful stop, by PID
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        error_log = prefix / "error.log"
        if error_log.is_file():
            print(f"--- nginx error.log\n{error_log.read_text()[-3000:]}")
