"""The compose demo's camera: docker/make_demo_clip.py renders the clip, mediamtx's ffmpeg loops it."""

from __future__ import annotations

import importlib.util
import shlex
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import cv2
import pytest
import yaml
from deploy_files import REPO

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


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed (.ci/run installs it)")
def test_rtsp_loop_command_encodes_the_clip(script: ModuleType, tmp_path: Path) -> None:
    """mediamtx's runOnInit command, with its RTSP output sent to ffmpeg's null muxer and two loops."""
    clip = tmp_path / "demo.mp4"
    assert script.main(["--out", str(clip), "--source", SMALL]) == 0
    mediamtx = yaml.safe_load((REPO / "docker" / "demo" / "mediamtx.yml").read_text())
    (spec,) = mediamtx["paths"].values()
    argv = shlex.split(spec["runOnInit"])
    assert argv[0] == "ffmpeg" and argv[-1].startswith("rtsp://127.0.0.1:$RTSP_PORT/")
    out_format = argv.index("-f", argv.index("-i"))
    argv = [*argv[:out_format], "-f", "null", "-"]
    argv[argv.index("-stream_loop") + 1] = "1"
    argv.remove("-re")
    argv[argv.index("-i") + 1] = str(clip)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
