"""Which frames the inference worker runs next: a fair share of the model per stream, not a FIFO.

Frames wait in one lane per stream (per client address for the stateless ``/v1/segment``). Each
lane has a *virtual time*: the model passes its stream has had. A batch takes the head frame of the
lanes with the least virtual time (at most one frame per stream, and only lanes less than one pass
ahead of the least served one), and each pass a frame runs adds to its lane's virtual time; a new
lane starts at the current virtual time (no credit is saved up by being idle). A ``bnn`` frame with
N samples runs in engine steps of ``mc_chunk`` passes and goes back to the front of its lane between
steps (with its work in progress, the engine's ``FrameWork``),
so another stream's frame waits at most one step of it, and a stream that asks for many samples
gets the same share of passes as one that asks for one.

A droppable frame replaces its stream's waiting droppable frames (newest frame wins) but never one
that has started. ``depth`` counts waiting frames that have not started (the queue limit).
Not thread-safe on its own: the worker calls it under its condition lock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from server.jobs import FrameJob


@dataclass
class FairLanes:
    lanes: dict[str, deque[FrameJob]] = field(default_factory=dict)
    vtime: dict[str, float] = field(default_factory=dict)
    progress: dict[int, Any] = field(default_factory=dict)  # id(job) -> its engine work between steps
    running: dict[str, float] = field(default_factory=dict)  # virtual time of lanes emptied by ``take``
    clock: float = 0.0
    depth: int = 0

    def __bool__(self) -> bool:
        return bool(self.lanes)

    def __len__(self) -> int:
        return len(self.lanes)

    def add(self, job: FrameJob, queue_size: int) -> tuple[list[FrameJob], bool]:
        """Queue ``job``; returns (frames it replaced, whether the queue was full and it was refused)."""
        lane = self.lanes.get(job.key)
        if lane is None:
            lane = self.lanes[job.key] = deque()
            self.vtime[job.key] = max(self.clock, self.running.pop(job.key, self.clock))
        dropped: list[FrameJob] = []
        if job.droppable:
            dropped = [j for j in lane if j.droppable and id(j) not in self.progress]
            for old in dropped:
                lane.remove(old)
                job.absorb(old)
            self.depth -= len(dropped)
        if self.depth >= queue_size:
            if not lane:
                self._forget(job.key)
            return dropped, True
        lane.append(job)
        self.depth += 1
        return dropped, False

    def take(self, max_batch: int) -> list[FrameJob]:
        """The head frames of the ``max_batch`` lanes with the least virtual time (started ones too)."""
        keys = sorted(self.lanes, key=lambda k: self.vtime[k])[:max_batch]
        if keys:
            least = self.vtime[keys[0]]
            self.clock = max(self.clock, least)
            keys = [k for k in keys if self.vtime[k] < least + 1.0]  # lanes ahead wait for the others
        batch: list[FrameJob] = []
        for key in keys:
            lane = self.lanes[key]
            job = lane.popleft()
            if id(job) not in self.progress:
                self.depth -= 1
            batch.append(job)
            if not lane:  # remember what the stream has had while its frame runs
                self.running[key] = self.vtime[key]
                self._forget(key)
        return batch

    def charge(self, key: str, passes: int) -> None:
        """``passes`` model passes ran for ``key``'s frame."""
        if key in self.vtime:
            self.vtime[key] += passes
        elif key in self.running:
            self.running[key] += passes

    def put_back(self, job: FrameJob, progress: Any) -> None:
        """A started ``bnn`` frame with passes left goes back to the front of its lane."""
        self.progress[id(job)] = progress
        lane = self.lanes.get(job.key)
        if lane is None:
            lane = self.lanes[job.key] = deque()
            self.vtime[job.key] = max(self.clock, self.running.pop(job.key, self.clock))
        lane.appendleft(job)

    def finish(self, job: FrameJob) -> None:
        """``job`` left the worker (done or failed): forget its state."""
        self.progress.pop(id(job), None)
        if job.key not in self.lanes:
            self.running.pop(job.key, None)

    def drain(self) -> list[FrameJob]:
        jobs = [job for lane in self.lanes.values() for job in lane]
        self.lanes.clear()
        self.vtime.clear()
        self.progress.clear()
        self.running.clear()
        self.depth = 0
        return jobs

    def _forget(self, key: str) -> None:
        self.lanes.pop(key, None)
        self.vtime.pop(key, None)
