"""Fixtures for end-to-end server tests: a tiny checkpoint and real uvicorn servers on 127.0.0.1.

Every server runs in a background thread with its own socket on a free port and is stopped with a
bounded timeout (the test fails if it does not stop in time).
"""

from __future__ import annotations

import base64
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
import torch

from models import ModelMeta, Segmenter, create_model, load_segmenter, save_checkpoint
from server.app import create_app
from server.runtime import Runtime
from server.serving import GracefulServer, make_server
from server.settings import Settings

CLASSES = ("road", "sky", "car", "tree")
PALETTE = ((128, 64, 128), (70, 130, 180), (0, 0, 142), (107, 142, 35))
STOP_TIMEOUT = 20.0


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A width-4 Bayesian U-Net at 32x48 with 4 classes, saved as a vqseg checkpoint."""
    meta = ModelMeta(
        arch="bayesian_unet", class_names=CLASSES, palette=PALETTE, input_size=(32, 48), dropout=0.5,
        name="tiny-server", arch_options={"width": 4},
    )
    torch.manual_seed(0)
    model = create_model(meta.arch, meta.num_classes, meta.dropout, **meta.arch_options)
    return save_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pt", model, meta)


class SlowSegmenter:
    """Wraps a segmenter: every forward pass takes at least ``delay`` seconds; optionally fails on
    batches that contain an all-black frame (to test model errors)."""

    def __init__(self, inner: Segmenter, delay: float = 0.0, fail_on_black: bool = False) -> None:
        self.inner = inner
        self.meta = inner.meta
        self.device = inner.device
        self.backend = inner.backend
        self.delay = delay
        self.fail_on_black = fail_on_black
        self.batch_sizes: list[int] = []

    def prepare(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        if self.fail_on_black and any(int(f.max()) == 0 for f in frames):
            raise RuntimeError("synthetic model failure on a black frame")
        return self.inner.prepare(frames)

    def predict(
        self, batch: torch.Tensor, mc: bool, temperature: float = 1.0, rate: float | None = None
    ) -> torch.Tensor:
        self.batch_sizes.append(int(batch.shape[0]))
        if self.delay:
            time.sleep(self.delay)
        return self.inner.predict(batch, mc, temperature, rate)


@dataclass
class LiveServer:
    url: str
    ws_url: str
    server: GracefulServer
    thread: threading.Thread
    settings: Settings

    @property
    def runtime(self) -> Runtime:
        return self.server.runtime

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"server did not stop within {timeout}s"


ServerFactory = Callable[..., LiveServer]


def launch(
    checkpoint: Path, load: Callable[[], Segmenter] | None = None, wait_ready: bool = True, **overrides: Any
) -> LiveServer:
    """A server on a free port of 127.0.0.1, running in a thread; returns once it listens (and is ready)."""
    values: dict[str, Any] = {"model": str(checkpoint), "device": "cpu", "max_wait_ms": 2.0,
                              "log_level": "warning", "shutdown_timeout": 5.0, **overrides}
    settings = Settings(**values)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = make_server(create_app(settings, load), settings, port=port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    live = LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", server, thread, settings)
    deadline = time.monotonic() + 30.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            live.stop()
            raise AssertionError("server did not start")
        time.sleep(0.02)
    worker = live.runtime.worker
    while wait_ready and not worker.ready.wait(0.05):
        if worker.failure is not None or time.monotonic() > deadline:
            live.stop()
            raise AssertionError(f"model not ready: {worker.failure}")
    return live


# Pulled sources: scenes and files under the temp directory (where the tests write their clips).
TEST_PULL_SOURCES = f"synthetic,file:{tempfile.gettempdir()}"
SHARED_SETTINGS: dict[str, Any] = {"max_frame_bytes": 200_000, "max_frame_pixels": 300 * 300, "max_streams": 8,
                                   "pull_sources": TEST_PULL_SOURCES}


@pytest.fixture(scope="module")
def shared_server(tiny_checkpoint: Path) -> Iterator[LiveServer]:
    """One server for a whole test module (small frame limits: 200 kB, 300x300 pixels; 8 streams)."""
    live = launch(tiny_checkpoint, **SHARED_SETTINGS)
    yield live
    live.stop()


@pytest.fixture
def start_server(tiny_checkpoint: Path) -> Iterator[ServerFactory]:
    """``start_server(load=None, wait_ready=True, **settings)``: a server of its own, stopped afterwards."""
    started: list[LiveServer] = []

    def start(load: Callable[[], Segmenter] | None = None, wait_ready: bool = True, **overrides: Any) -> LiveServer:
        live = launch(tiny_checkpoint, load, wait_ready, **overrides)
        started.append(live)
        return live

    yield start
    for live in started:
        if live.thread.is_alive():
            live.stop()


@pytest.fixture
def tiny_loader(tiny_checkpoint: Path) -> Callable[..., Callable[[], Segmenter]]:
    """``tiny_loader(delay=0.05, fail_on_black=False)``: a load function for ``create_app``."""

    def make(delay: float = 0.0, fail_on_black: bool = False, load_delay: float = 0.0) -> Callable[[], Segmenter]:
        def load() -> Segmenter:
            if load_delay:
                time.sleep(load_delay)
            return SlowSegmenter(load_segmenter(tiny_checkpoint, "cpu"), delay, fail_on_black)

        return load

    return make


def make_frame(seed: int = 0, size: tuple[int, int] = (60, 80), fmt: str = ".jpg") -> bytes:
    """An encoded RGB frame (``size`` is height, width) with some structure."""
    rng = np.random.default_rng(seed)
    h, w = size
    image = np.zeros((h, w, 3), np.uint8)
    image[: h // 2] = (180, 130, 70)
    image[h // 2 :] = (128, 64, 128)
    image = np.clip(image.astype(int) + rng.integers(-30, 30, image.shape), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(fmt, image)
    assert ok
    return buf.tobytes()


def decode_png(b64: str) -> np.ndarray:
    array = cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_UNCHANGED)
    assert array is not None
    return array
