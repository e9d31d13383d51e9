"""The client package on its own: a fresh virtual environment WITHOUT torch gets ``pip install ./client``
(numpy, OpenCV and websockets come from the package index or pip's cache), imports the client and
streams to a real server on 127.0.0.1. The import time is measured and printed, not asserted."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.server.conftest import LiveServer

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

SCRIPT = r"""
import json, sys, time
started = time.perf_counter()
import vqseg_client
import_seconds = time.perf_counter() - started
import numpy as np
from vqseg_client import StreamClient, frames_from_arrays, stream_results
try:
    import torch  # noqa: F401
    torch_importable = True
except ImportError:
    torch_importable = False
rng = np.random.default_rng(0)
images = [rng.integers(0, 255, (72, 96, 3), dtype=np.uint8) for _ in range(6)]
client = StreamClient(sys.argv[1], "fresh-venv", maps=["mutual_info"])
results = list(stream_results(frames_from_arrays(images), client=client, pace=False))
print(json.dumps({
    "import_seconds": import_seconds, "torch_loaded": "torch" in sys.modules, "torch_importable": torch_importable,
    "server_or_streaming_loaded": any(m in sys.modules for m in ("server", "streaming", "models")),
    "results": len(results), "labels": list(results[0].labels.shape), "frame": [results[0].width, results[0].height],
    "maps": sorted(results[0].maps), "indices": [r.frame_index for r in results], "module": vqseg_client.__file__,
}))
"""


def test_client_installs_and_streams_without_torch(server: LiveServer, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              str(REPO / "client")], capture_output=True, text=True, timeout=600)
    if install.returncode != 0 and "No matching distribution" in install.stderr + install.stdout:
        pytest.skip(f"no package index reachable for numpy/OpenCV/websockets: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stderr[-2000:]
    # run from tmp_path: the repository (with its torch-based packages) is not on the path
    done = subprocess.run([str(python), "-c", SCRIPT, server.ws_url], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\nvqseg_client import in a fresh venv: {figures['import_seconds'] * 1000:.0f} ms", file=sys.stderr)
    assert not figures["torch_loaded"] and not figures["torch_importable"]
    assert not figures["server_or_streaming_loaded"]
    assert str(env_dir) in figures["module"]
    assert figures["results"] == 6 and figures["indices"] == list(range(6))
    assert figures["labels"] == [32, 48] and figures["frame"] == [96, 72]  # network-size maps, the frame's size
    assert figures["maps"] == ["mutual_info"]
