"""Fixtures for the web viewer tests: the vqseg server on 127.0.0.1 and headless Debian Chromium.

The server is the real app under uvicorn, in a thread of the test process (a subprocess would import
torch a second time: seconds on 2 cores), with an API key so the page's `?key=` path is exercised; it
is stopped with a bounded timeout. Chromium
is Debian's (`apt-get install chromium`), driven by Playwright through `executable_path`; it is never
downloaded. Screenshots go to `out/test-artifacts/` (or `$VQSEG_TEST_ARTIFACTS`).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
import torch

from models import ModelMeta, create_model, default_checkpoint_path, save_checkpoint
from server.app import create_app
from server.serving import GracefulServer, make_server
from server.settings import Settings
from synthetic import CLASS_NAMES, PALETTE, SceneConfig, StreetSceneVideo

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "viewer-test-key"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_executable() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = chromium_executable()
    if path is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    return path


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("VQSEG_TEST_ARTIFACTS", ROOT / "out" / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def viewer_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded default model (what users see); a small untrained one if it is not there yet."""
    default = default_checkpoint_path()
    if default.is_file():
        return default
    meta = ModelMeta(
        arch="bayesian_unet", class_names=tuple(CLASS_NAMES), palette=tuple(tuple(c) for c in PALETTE),
        input_size=(96, 128), dropout=0.5, name="viewer-test", arch_options={"width": 8},
    )
    torch.manual_seed(0)
    model = create_model(meta.arch, meta.num_classes, meta.dropout, **meta.arch_options)
    return save_checkpoint(tmp_path_factory.mktemp("model") / "viewer.pt", model, meta)


@dataclass
class LiveServer:
    """A real uvicorn server of `create_app` on 127.0.0.1, in a thread of the test process."""

    url: str
    key: str
    server: GracefulServer
    thread: threading.Thread

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": self.key}, timeout=10.0)

    def get(self, path: str) -> Any:
        with self.client() as client:
            response = client.get(path)
            response.raise_for_status()
            return response.json()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(STOP_TIMEOUT)
        assert not self.thread.is_alive(), f"the server did not stop within {STOP_TIMEOUT}s"


@pytest.fixture(scope="module")
def server(viewer_checkpoint: Path, chromium_path: str) -> Iterator[LiveServer]:
    """The vqseg server (API key set) on a free port of 127.0.0.1; ready (model warm) when yielded."""
    settings = Settings(
        model=str(viewer_checkpoint), device="cpu", api_key=API_KEY, log_level="warning", shutdown_timeout=5.0,
        idle_timeout=60.0,
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = make_server(create_app(settings), settings, port=port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="viewer-test-server", daemon=True)
    thread.start()
    live = LiveServer(f"http://127.0.0.1:{port}", API_KEY, server, thread)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not server.started or not server.runtime.worker.ready.is_set():
            assert thread.is_alive(), "the server thread ended while starting"
            assert time.monotonic() < deadline, f"the server was not ready within {READY_TIMEOUT}s"
            time.sleep(0.05)
        yield live
    finally:
        live.stop()
        sock.close()


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    with sync_api.sync_playwright() as driver:
        yield driver


Launcher = Callable[..., Any]


@pytest.fixture(scope="module")
def launch_chromium(playwright_driver: Any, chromium_path: str) -> Iterator[Launcher]:
    """`launch_chromium(*extra_args)`: a headless Chromium with a fake camera; closed after the module."""
    browsers: list[Any] = []

    def launch(*extra_args: str) -> Any:
        browser = playwright_driver.chromium.launch(
            executable_path=chromium_path, headless=True, args=[*CHROMIUM_ARGS, *extra_args], timeout=30_000,
        )
        browsers.append(browser)
        return browser

    yield launch
    for browser in browsers:
        browser.close()


@pytest.fixture(scope="module")
def browser(launch_chromium: Launcher) -> Any:
    """Chromium whose camera is its built-in fake pattern (a moving test card with a clock)."""
    return launch_chromium()


def write_y4m(path: Path, frames: list[np.ndarray], fps: int) -> Path:
    """RGB frames to a YUV4MPEG2 (4:2:0) clip, what Chromium's --use-file-for-fake-video-capture plays."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="session")
def street_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of the synthetic street scene (480x360, 10 fps) as a .y4m camera clip."""
    video = StreetSceneVideo(SceneConfig(seed=3, width=480, height=360, fps=10, scenario="drive", num_frames=20))
    frames = [f.image for f in video]
    return write_y4m(tmp_path_factory.mktemp("camera") / "street.y4m", frames, fps=10)
