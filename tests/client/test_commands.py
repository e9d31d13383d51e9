"""The commands end to end: ``vqseg stream`` into a video, ``vqseg demo`` (its own server process),
``vqseg bench --quick`` (against the test server)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import pytest

from tests.server.conftest import LiveServer
from vqseg.cli import main


def video_frames(path: Path) -> tuple[int, int, int]:
    """(frames, width, height) of a video, counted by decoding it."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    while capture.grab():
        count += 1
    capture.release()
    return count, width, height


def test_stream_command_writes_the_overlay_video(server: LiveServer, video_file: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out, summary = tmp_path / "overlay.mp4", tmp_path / "summary.json"
    code = main(["stream", str(video_file), "--server", server.ws_url, "--stream-id", "cli-1", "--frames", "8",
                 "--no-pace", "--out", str(out), "--summary", str(summary), "--maps", "confidence", "--quiet"])
    assert code == 0
    frames, width, height = video_frames(out)
    assert frames == 8 and width > 3 * 160 and height >= 120  # frame | overlay | heat map | legend
    figures = json.loads(summary.read_text())
    assert figures["stream_id"] == "cli-1" and figures["results"] == 8 and figures["dropped"] == 0
    assert figures["latency_ms"]["p50"] > 0 and figures["fps"] > 0
    assert "cli-1" in capsys.readouterr().out


def test_stream_command_errors(server: LiveServer, tmp_path: Path) -> None:
    assert main(["stream", str(tmp_path / "missing.mp4"), "--server", server.ws_url]) == 2
    assert main(["stream", "synthetic:street", "--server", server.ws_url, "--maps", "nonsense"]) == 2
    bad_id = ["--stream-id", "bad!id", "--retries", "1"]  # the server refuses the id: no retries
    assert main(["stream", "synthetic:street", "--server", server.ws_url, *bad_id]) == 1


def test_demo_end_to_end(tiny_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    code = main(["demo", "--model", str(tiny_checkpoint), "--frames", "10", "--stills", "2", "--out", str(out),
                 "--source", "synthetic:street?seed=2&w=160&h=120&fps=30"])
    assert code == 0
    frames, width, _ = video_frames(out / "overlay.mp4")
    assert frames == 10 and width > 3 * 160
    stills = sorted(out.glob("frame_*.png"))
    assert [p.name for p in stills] == ["frame_00004.png", "frame_00009.png"]
    assert cv2.imread(str(stills[0])) is not None
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 10 and summary["dropped"] == 0 and summary["fps"] > 0
    assert summary["latency_ms"]["p50"] > 0 and summary["latency_ms"]["p99"] >= summary["latency_ms"]["p50"]
    assert summary["model"] == "tiny-server" and summary["mode"] == "vqbnn"
    assert summary["server_stop"]["signal"] == "SIGINT"  # stopped gracefully


def test_demo_without_a_model(tmp_path: Path) -> None:
    assert main(["demo", "--model", str(tmp_path / "none.pt"), "--out", str(tmp_path)]) == 2


def test_bench_quick_writes_json_and_markdown(server: LiveServer, tiny_checkpoint: Path, tmp_path: Path) -> None:
    """Against the running test server (``vqseg demo`` above covers starting one as a child process)."""
    out = tmp_path / "bench"
    code = main(["bench", "--quick", "--model", str(tiny_checkpoint), "--out", str(out), "--seconds", "1",
                 "--warmup", "0.3", "--modes", "dnn,vqbnn,bnn", "--server", server.ws_url])
    assert code == 0
    report = json.loads((out / "bench.json").read_text())
    assert {"run", "model", "server", "wall_seconds"} <= set(report)
    assert set(report["model"]["fps"]) == {"dnn", "vqbnn", "bnn"} and report["model"]["fps"]["dnn"] > 0
    assert {"vqbnn_over_dnn_fps", "vqbnn_over_bnn_fps"} <= set(report["model"]["ratios"])
    assert report["model"]["ring_buffer"]["values"] == 6 * (4 + 1) * 32 * 48
    assert report["server"]["url"] == server.ws_url
    levels = report["server"]["levels"]
    assert [(lv["format"], lv["streams"]) for lv in levels] == [("binary", 1), ("binary", 2), ("json", 1), ("json", 2)]
    assert "reference" not in report  # a remote server: no local reference beside it
    for level in levels:
        assert {"fps_total", "fps_per_stream", "latency_ms", "dropped", "served_over_raw", "buffer_bytes_per_stream",
                "stages_ms", "errors"} <= set(level)
        assert level["fps_total"] > 0 and level["latency_ms"]["p50"] > 0 and level["errors"] == []
        assert level["served_over_raw"] == pytest.approx(level["fps_total"] / report["model"]["fps"]["vqbnn"])
        stages = level["stages_ms"]
        assert {"decode", "queue", "forward", "blend", "maps", "encode", "total", "outside_forward"} <= set(stages)
        assert 0 < stages["forward"] <= stages["total"]
    markdown = (out / "bench.md").read_text()
    assert "| format | streams | served fps (total) |" in markdown and "| `vqbnn` |" in markdown
    assert "| format | streams | decode | queue | forward |" in markdown


@pytest.mark.slow
def test_bench_starts_the_server_and_the_bare_reference(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """Without --server: ``vqseg serve`` and ``benchmarks.bare_endpoint`` as child processes, side by side."""
    out = tmp_path / "bench"
    code = main(["bench", "--quick", "--model", str(tiny_checkpoint), "--out", str(out), "--seconds", "2",
                 "--warmup", "1", "--skip-model", "--formats", "binary", "--streams", "1", "--device", "cpu"])
    assert code == 0
    report = json.loads((out / "bench.json").read_text())
    (served,) = report["server"]["levels"]
    (reference,) = report["reference"]["levels"]
    assert reference["streams"] == 1 and reference["fps_total"] > 0 and reference["errors"] == []
    assert served["served_over_reference"] == pytest.approx(served["fps_total"] / reference["fps_total"])
    assert "Reference (benchmarks.bare_endpoint" in (out / "bench.md").read_text()


@pytest.mark.slow
def test_bench_backends_side_by_side_then_serves_the_fastest_pinned(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--backends``: one interleaved table, ratios over torch, then the fastest served (server on CPU 0,
    this process, the client, on CPU 1)."""
    monkeypatch.setenv("VQSEG_CACHE_DIR", str(tmp_path / "cache"))
    affinity = os.sched_getaffinity(0)
    out = tmp_path / "bench"
    try:
        code = main(["bench", "--quick", "--model", str(tiny_checkpoint), "--out", str(out), "--seconds", "1.5",
                     "--warmup", "0.5", "--backends", "torch,onnx,openvino,int8", "--modes", "dnn,vqbnn",
                     "--formats", "binary", "--streams", "1", "--skip-reference", "--threads", "1", "--pin"])
    finally:
        os.sched_setaffinity(0, affinity)
    assert code == 0
    report = json.loads((out / "bench.json").read_text())
    backends = report["backends"]
    assert backends["order"] == ["torch", "onnx", "openvino", "int8"]
    assert all(set(row) == {"dnn", "vqbnn"} and min(row.values()) > 0 for row in backends["fps"].values())
    assert backends["over_torch"]["torch"] == {"dnn": 1.0, "vqbnn": 1.0}
    assert backends["over_torch"]["onnx"]["vqbnn"] == pytest.approx(
        backends["fps"]["onnx"]["vqbnn"] / backends["fps"]["torch"]["vqbnn"])
    assert backends["runs_on"]["int8"].startswith("openvino, int8")
    fastest = backends["fastest"]
    assert backends["fps"][fastest]["vqbnn"] == max(row["vqbnn"] for row in backends["fps"].values())
    assert report["model"]["backend"] == fastest and report["model"]["fps"] == backends["fps"][fastest]
    (level,) = report["server"]["levels"]
    assert level["fps_total"] > 0 and level["served_over_raw"] > 0
    assert report["server"]["backend"] == f"{'openvino' if fastest == 'int8' else fastest} (asked for)"
    assert report["server"]["pinned"] == "server on CPU 0, client on CPU 1"
    assert "| `int8` | openvino, int8," in (out / "bench.md").read_text()
