"""Fixtures for the client tests: real servers on 127.0.0.1 (the server tests' launcher and tiny
checkpoint), a video file written with OpenCV, and a real GStreamer RTSP server on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest

from server.app import create_app
from server.serving import make_server
from server.settings import Settings
from tests.server.conftest import STOP_TIMEOUT, LiveServer, launch, start_server, tiny_checkpoint, tiny_loader
from vqseg_client.sources import open_source

__all__ = ["start_server", "tiny_checkpoint", "tiny_loader"]  # fixtures re-used from tests/server

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = "/usr/bin/python3"
CLIP_SIZE = (160, 120)  # width, height
CLIP_FPS = 10.0
CLIP_FRAMES = 20


@pytest.fixture(scope="module")
def server(tiny_checkpoint: Path) -> Iterator[LiveServer]:
    """One server for a test module: the tiny model, 8 streams."""
    live = launch(tiny_checkpoint, max_streams=8)
    yield live
    live.stop()


def launch_on(port: int, checkpoint: Path, **overrides: Any) -> LiveServer:
    """Like ``launch``, on a given port (to restart a server where a client expects it)."""
    settings = Settings(model=str(checkpoint), device="cpu", max_wait_ms=2.0, log_level="warning",
                        shutdown_timeout=5.0, **overrides)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = make_server(create_app(settings), settings, port=port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    live = LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", server, thread, settings)
    deadline = time.monotonic() + 30.0
    while not (server.started and live.runtime.worker.ready.is_set()):
        if not thread.is_alive() or time.monotonic() > deadline:
            live.stop(STOP_TIMEOUT)
            raise AssertionError("server did not start")
        time.sleep(0.02)
    return live


def write_clip(path: Path, frames: int = CLIP_FRAMES, fps: float = CLIP_FPS, fourcc: str = "mp4v") -> Path:
    """A clip of the synthetic street scene, written with OpenCV."""
    width, height = CLIP_SIZE
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    with open_source(f"synthetic:street?seed=3&w={width}&h={height}&fps={fps:g}&frames={frames}") as source:
        for frame in source:
            writer.write(cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def video_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "street.mp4")


def gstreamer_rtsp_missing() -> str | None:
    """Why the GStreamer RTSP server cannot run here (None if it can)."""
    if not Path(SYSTEM_PYTHON).is_file():
        return f"no system interpreter at {SYSTEM_PYTHON}"
    probe = ("import gi; gi.require_version('GstRtspServer', '1.0'); "
             "from gi.repository import GstRtspServer")
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {SYSTEM_PYTHON}: {exc}"
    if done.returncode != 0:
        return ("GStreamer's RTSP server is not installed (apt-get install gir1.2-gst-rtsp-server-1.0 python3-gi "
                "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)")
    return None


def start_rtsp(args: list[str], timeout: float = 20.0) -> tuple[subprocess.Popen[str], str]:
    """Run tests/client/rtsp_server.py with the system Python; returns (process, rtsp URL)."""
    process = subprocess.Popen([SYSTEM_PYTHON, str(HERE / "rtsp_server.py"), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline() if process.stdout else ""))
    reader.start()
    reader.join(timeout)
    if not line or not line[0].startswith("READY "):
        stop_process(process)
        err = process.stderr.read() if process.stderr else ""
        raise AssertionError(f"RTSP server did not start: {line} {err[-500:]}")
    return process, line[0].split()[1]


def stop_process(process: subprocess.Popen[str], timeout: float = 5.0) -> None:
    """Terminate, wait with a bound, then kill."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


@pytest.fixture(scope="module")
def rtsp_server() -> Iterator[Callable[..., str]]:
    """``rtsp_server(clip=None)``: start a loopback RTSP server (an H.264 clip, or a live test
    pattern); every server is stopped by PID at the end of the module."""
    reason = gstreamer_rtsp_missing()
    if reason:
        pytest.skip(reason)
    started: list[subprocess.Popen[str]] = []

    def start(clip: Path | None = None) -> str:
        process, url = start_rtsp(["--clip", str(clip)] if clip else ["--live"])
        started.append(process)
        return url

    yield start
    for process in started:
        stop_process(process)


@pytest.fixture(scope="module")
def h264_clip(video_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test clip looped to 6 s and re-encoded to H.264 (what an RTSP camera sends), with ffmpeg.
    (OpenCV buffers about a second while it opens an RTSP stream: a 2 s clip would end at once.)"""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    out = tmp_path_factory.mktemp("h264") / "clip.mp4"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-stream_loop", "2", "-i", str(video_file), "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-g", "5", str(out)], check=True, timeout=60)
    return out
