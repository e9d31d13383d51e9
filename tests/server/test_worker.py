"""The inference worker on its own: cross-stream batching, grouping by mode, newest-frame-wins."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import wait
from pathlib import Path

import numpy as np
import pytest
import torch

from models import load_segmenter
from server.errors import Overloaded
from server.jobs import FrameJob, ReplySpec
from server.metrics import ServiceMetrics
from server.worker import InferenceWorker, WorkerLimits
from streaming import Mode, StreamConfig, StreamFrame, StreamSession
from tests.server.conftest import SlowSegmenter

FRAME = np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)


@pytest.fixture
def worker(tiny_checkpoint: Path) -> Iterator[InferenceWorker]:
    segmenter = SlowSegmenter(load_segmenter(tiny_checkpoint, "cpu"), delay=0.2)
    w = InferenceWorker(lambda: segmenter, WorkerLimits(max_batch=8, max_wait_ms=20, queue_size=5), ServiceMetrics())
    w.start()
    assert w.ready.wait(20)
    yield w
    started = time.monotonic()
    w.stop(10)
    assert time.monotonic() - started < 10


def session(name: str, **config: object) -> StreamSession:
    return StreamSession(name, StreamConfig(**config), 4, (32, 48), torch.device("cpu"))  # type: ignore[arg-type]


def job(s: StreamSession | None = None, config: StreamConfig | None = None, **kwargs: object) -> FrameJob:
    frame = StreamFrame(FRAME, time.time(), s, config)
    return FrameJob(frame, ReplySpec(), time.perf_counter(), **kwargs)  # type: ignore[arg-type]


def test_frames_of_different_streams_share_a_forward_pass_grouped_by_mode(worker: InferenceWorker) -> None:
    segmenter = worker.segmenter
    assert isinstance(segmenter, SlowSegmenter)
    busy = job(session("busy"))
    worker.submit(busy)
    time.sleep(0.05)  # the worker is inside the first forward pass now
    segmenter.batch_sizes.clear()
    jobs = [
        job(session("a")),
        job(session("b")),
        job(config=StreamConfig(mode=Mode.DNN)),
        job(config=StreamConfig(mode=Mode.BNN, samples=3)),
    ]
    for j in jobs:
        worker.submit(j)
    done, _ = wait([j.future for j in [busy, *jobs]], timeout=20)
    assert len(done) == 5
    results = [j.future.result() for j in jobs]
    assert [r.mode for r in results] == [Mode.VQBNN, Mode.VQBNN, Mode.DNN, Mode.BNN]
    assert sorted(segmenter.batch_sizes) == [1, 2, 3]  # a+b in one MC pass; dnn alone; bnn: 3 samples of 1


def test_newest_frame_wins_and_inherits_dropped_settings(worker: InferenceWorker) -> None:
    s = session("s")
    worker.submit(job(session("blocker")))
    time.sleep(0.05)
    first = job(s, droppable=True, changes={"window": 2})
    second = job(s, droppable=True, reset=True)
    kept = job(s)  # not droppable (REST): stays queued behind
    third = job(s, droppable=True)
    for j in (first, second, kept, third):
        worker.submit(j)
    wait([first.future, second.future, kept.future, third.future], timeout=20)
    assert first.future.result() is None and second.future.result() is None
    assert kept.future.result() is not None and third.future.result() is not None
    assert s.stats.dropped == 2 and s.config.window == 2  # the dropped frame's change was not lost
    assert s.stats.frames == 2


def test_a_full_queue_refuses_without_losing_the_lane(worker: InferenceWorker) -> None:
    worker.submit(job(session("blocker")))
    time.sleep(0.05)
    queued = [job(session(f"q{i}")) for i in range(5)]
    for j in queued:
        worker.submit(j)
    with pytest.raises(Overloaded):
        worker.submit(job(session("late"), droppable=True))
    wait([j.future for j in queued], timeout=20)
    assert all(j.future.result() is not None for j in queued)
