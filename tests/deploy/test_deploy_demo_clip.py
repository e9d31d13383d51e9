"""The compose demo's camera: docker/make_demo_clip.py renders the clip, docker/demo/rtsp_camera.py loops it."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from types import ModuleType

import cv2
import pytest
from deploy_files import REPO

SYSTEM_PYTHON = "/usr/bin/python3"  # its python3-gi sees GstRtspServer; the venv cannot
SMALL = "synthetic:street?seed=3&w=64&h=48&fps=10&frames=6"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_demo_clip", REPO / "docker" / "make_demo_clip.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _load_script()


def test_writes_a_readable_clip_and_keeps_it(script: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "clips" / "demo.mp4"
    assert script.main(["--out", str(out), "--source", SMALL]) == 0
    capture = cv2.VideoCapture(str(out))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    assert len(frames) == 6
    assert frames[0].shape == (48, 64, 3)
    assert fps == pytest.approx(10.0)
    assert [p.name for p in out.parent.iterdir()] == ["demo.mp4"], "no partial file left behind"

    stamp = out.stat().st_mtime_ns
    assert script.main(["--out", str(out), "--source", SMALL]) == 0
    assert out.stat().st_mtime_ns == stamp, "an existing clip is kept on the next `compose up`"


def test_refuses_an_endless_source(script: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "demo.mp4"
    assert script.main(["--out", str(out), "--source", "rtsp://127.0.0.1:1/none"]) == 1
    assert not out.exists()


def test_default_source_is_finite(script: ModuleType) -> None:
    from synthetic import parse_synthetic_uri

    config = parse_synthetic_uri(script.DEFAULT_SOURCE)
    assert config.num_frames is not None and 0 < config.num_frames <= 900


def _camera_problem() -> str | None:
    if shutil.which("ffmpeg") is None:
        return "ffmpeg not installed (.ci/run installs it)"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"],
                           capture_output=True, timeout=30, check=False) if Path(SYSTEM_PYTHON).is_file() else None
    if probe is None or probe.returncode != 0:
        return "Debian's GStreamer RTSP server is not installed for the system Python (.ci/run installs it)"
    return None


@pytest.mark.rtsp
@pytest.mark.slow
def test_rtsp_camera_loops_the_clip_live_and_stops_on_sigterm(script: ModuleType, tmp_path: Path) -> None:
    """docker/demo/rtsp_camera.py (the demo camera image's program) run here: a live, looping RTSP stream."""
    problem = _camera_problem()
    if problem:
        pytest.skip(problem)
    clip = tmp_path / "demo.mp4"
    assert script.main(["--out", str(clip), "--source", "synthetic:street?seed=3&w=160&h=96&fps=10&frames=10"]) == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    camera = subprocess.Popen(
        [SYSTEM_PYTHON, str(REPO / "docker" / "demo" / "rtsp_camera.py"), "--clip", str(clip), "--address",
         "127.0.0.1", "--port", str(port), "--mount", "/demo"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        assert camera.stdout is not None
        assert "serving" in camera.stdout.readline().decode()
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
        capture = cv2.VideoCapture(f"rtsp://127.0.0.1:{port}/demo", cv2.CAP_FFMPEG)
        frames = 0
        while frames < 25:  # more than the clip's 10 frames: it loops
            ok, frame = capture.read()
            if not ok:
                break
            assert frame.shape == (96, 160, 3)
            frames += 1
        capture.release()
        assert frames == 25, f"the stream ended after {frames} frames"
        camera.send_signal(signal.SIGTERM)
        assert camera.wait(timeout=20) == 0
    finally:
        if camera.poll() is None:
            camera.kill()
            camera.wait(timeout=10)
