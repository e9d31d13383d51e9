"""Bounded versions of ``vqseg bench --load`` and ``--soak`` (the tiny model, a few seconds each): the
commands run end to end against their own ``vqseg serve`` and write their reports; under load nothing
unexpected happens and streams past capacity are refused with 1013; in the soak every stream created
is freed and memory stays flat after a warm-up."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from vqseg.cli import main

pytestmark = pytest.mark.slow  # each starts its own ``vqseg serve`` process (~10 s on 2 cores)

QUICK = ["--quick", "--device", "cpu", "--frames", "4"]


def run_bench(args: list[str]) -> int:
    return main(["bench", *args])


def test_load_command(tiny_checkpoint: Path, tmp_path: Path) -> None:
    code = run_bench(["--load", "--model", str(tiny_checkpoint), "--out", str(tmp_path), *QUICK,
                      "--load-seconds", "6", "--load-streams", "4", "--load-rest", "2", "--load-fps", "10"])
    assert code == 0
    load = json.loads((tmp_path / "load.json").read_text())["load"]
    assert load["unexpected_errors"] == 0, load
    ws, rest = load["websocket"], load["rest"]
    assert ws["served"] > 0 and rest["served"] > 0  # behaviour, not speed: how many is vqseg bench's business
    assert ws["sent"] >= ws["served"] + ws["dropped"]
    assert 0 < ws["latency_ms"]["p50"] <= ws["latency_ms"]["p99"]
    assert load["over_capacity"]["refused_1013"] >= 1 and load["over_capacity"]["accepted"] == 0
    assert load["streams_left"] == 1  # only the REST stream, which waits for idle eviction
    assert load["rss_mb"]["start"] > 0 and load["rss_mb"]["end"] > 0
    assert "| websocket |" in (tmp_path / "load.md").read_text()


def test_soak_command_memory_stays_flat(tiny_checkpoint: Path, tmp_path: Path) -> None:
    code = run_bench(["--soak", "--model", str(tiny_checkpoint), "--out", str(tmp_path), *QUICK,
                      "--soak-minutes", "0.34", "--soak-streams", "3", "--soak-lifetime", "0.5,2",
                      "--soak-sample", "0.5", "--soak-warmup", "8", "--soak-idle-timeout", "1"])
    assert code == 0
    soak = json.loads((tmp_path / "soak.json").read_text())["soak"]
    assert soak["unexpected_errors"] == 0, soak["errors"]
    assert soak["streams_created"] >= 20 and soak["streams_left"] == 0  # every session was freed
    assert soak["frames"]["served"] > 0
    fit = soak["fit"]
    assert fit["samples"] >= 10 and fit["streams_created_after_warmup"] >= 10
    # A leak of one ring buffer per stream would not show in 20 s with the tiny model; what this
    # bound catches is a server that keeps what a stream used (frames, results, sockets): tens of
    # streams each leaving ~1 MB behind. The allocator's jitter stays well under it.
    assert fit["growth_after_warmup_mb"] < 25.0, fit
    plot = cv2.imread(str(tmp_path / "soak.png"))
    assert plot is not None and plot.shape[:2] == (420, 900)
