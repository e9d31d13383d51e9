"""The inference worker: one thread owns the model and runs every stream's frames in batches.

Frames from the event loop (``submit``) wait in per-stream lanes (``server.scheduler``: a fair share
of model passes per stream; a ``bnn`` frame runs ``mc_chunk`` passes per turn); a stream's newer
droppable frame replaces its stale waiting one (newest frame wins, counted as dropped). The thread
collects up to ``max_batch`` frames of different streams, waiting at most ``max_wait_ms`` after the
first, applies the stream control they carry, and runs them through the engine once
(``streaming.engine``: grouped forward passes, the MC accumulator, each stream's blend, the maps on
the device). Then each finished frame's maps go to the host in the forms its reply needs (at the
network's resolution, or upsampled within ``max_output_pixels`` where the client asks). Encoding
(the binary frame's header, or PNGs) runs in a small pool, off this thread, so the next batch can start.
Results go back through ``concurrent.futures.Future`` (``asyncio.wrap_future`` on the loop side).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from models import Segmenter
from server.errors import InvalidParameters, ModelError, NotReady, Overloaded, ServiceError
from server.frame_maps import HostMaps, HostStaging, maps_to_host, warm_up
from server.jobs import FrameJob, FrameResult
from server.metrics import ServiceMetrics
from server.results import encode_result, output_specs
from server.scheduler import FairLanes
from server.taps import FrameTaps
from streaming import InferenceEngine, Mode, StreamConfig, StreamFrame, StreamSession
from streaming.engine import FrameWork, StepResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerLimits:
    max_batch: int = 8
    max_wait_ms: float = 5.0
    queue_size: int = 64
    encode_threads: int = 2
    mc_chunk: int = 4  # bnn passes per turn before other streams' frames run
    max_output_pixels: int = 1920 * 1080


ConfigCheck = Callable[[StreamConfig, StreamSession | None], None]


class InferenceWorker:
    """Loads the model in its own thread, warms it up, then serves batches until ``stop``."""

    def __init__(
        self,
        load: Callable[[], Segmenter],
        limits: WorkerLimits,
        metrics: ServiceMetrics,
        on_ready: Callable[[Segmenter], None] | None = None,
        check_config: ConfigCheck | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._load = load
        self.limits = limits
        self.metrics = metrics
        self._on_ready = on_ready
        self._on_failure = on_failure
        self.segmenter: Segmenter | None = None
        self.ready = threading.Event()
        self.failure: str | None = None
        self._check = check_config  # raises ServiceError for a config over the server's limits
        self._engine: InferenceEngine | None = None
        self.taps: FrameTaps | None = None  # watch rules, restreams: fed each frame's maps (server.taps)
        self._queue = FairLanes()
        self._seen: dict[str, float] = {}  # when each stream last queued a frame (perf_counter)
        self._new = False  # a stream's first frame is waiting: others may be arriving with it
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._main, name="vqseg-inference", daemon=True)
        self._encode = ThreadPoolExecutor(limits.encode_threads, thread_name_prefix="vqseg-encode")
        self._staging: HostStaging | None = None

    # ---- event-loop side -------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    @property
    def depth(self) -> int:
        return self._queue.depth

    def submit(self, job: FrameJob) -> None:
        """Queue ``job`` (its future resolves later); raises ``Overloaded``/``NotReady`` at once.

        A droppable job first replaces its stream's waiting droppable jobs (they resolve to None);
        the queue limit counts waiting frames of all streams after that replacement.
        """
        dropped: list[FrameJob] = []
        with self._cond:
            if self._stopping:
                raise NotReady("the server is shutting down")
            if not self.ready.is_set():
                raise NotReady(self.failure or "the model is still loading")
            job.enqueued = time.perf_counter()
            dropped, overloaded = self._queue.add(job, self.limits.queue_size)
            if job.frame.session is not None:
                job.frame.session.stats.dropped += len(dropped)
            if not overloaded:
                self._new = self._new or job.key not in self._seen
                self._seen[job.key] = job.enqueued
                self._cond.notify()
        for old in dropped:
            _resolve(old, None)
        self.metrics.count_dropped("newest_frame_wins", len(dropped))
        if overloaded:
            self.metrics.count_dropped("overloaded")
            raise Overloaded(f"inference queue full ({self.limits.queue_size} frames waiting); retry later")

    def count_dropped(self, session: StreamSession, n: int = 1) -> None:
        """Frames of ``session`` dropped before they reached the worker (e.g. a WebSocket's slot)."""
        with self._cond:
            session.stats.dropped += n
        self.metrics.count_dropped("newest_frame_wins", n)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the frames already queued, then end the thread (bounded by ``timeout``)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._encode.shutdown(wait=True, cancel_futures=False)
        with self._cond:
            leftovers = self._queue.drain()
        for job in leftovers:
            _fail(job, NotReady("the server shut down before this frame ran"))

    # ---- worker thread ---------------------------------------------------------------------
    def _main(self) -> None:
        try:
            self.segmenter = self._load()
            self._staging = HostStaging(self.segmenter.device)
            self._engine = InferenceEngine(self.segmenter, self.limits.mc_chunk)
            self._warm_up(self._engine)
        except Exception as exc:
            self.failure = f"model failed to load: {exc}"
            if not isinstance(exc, ValueError | OSError):  # a bug rather than a file that does not fit
                log.exception("inference worker: model failed to load")
            if self._on_failure is not None:
                self._on_failure(self.failure)
            else:
                log.error("inference worker: %s", self.failure)
            return
        if self._on_ready is not None:
            self._on_ready(self.segmenter)
        self.ready.set()
        seg = self.segmenter
        choice = getattr(seg, "backend_choice", seg.backend)
        log.info("inference worker ready: %s on %s, backend %s", seg.meta.name, seg.device, choice)
        while True:
            batch = self._next_batch()
            if batch is None:
                break
            if batch:
                self._run_batch(batch)
            del batch  # the frames' pixels are freed (and their memory budget released) once answered

    def _warm_up(self, engine: InferenceEngine) -> None:
        h, w = engine.segmenter.meta.input_size
        frame = np.full((h, w, 3), 128, np.uint8)
        for mode in (Mode.DNN, Mode.VQBNN):
            try:
                output = engine.run(StreamFrame(frame, 0.0, config=StreamConfig(mode=mode)))
            except ValueError:  # no dropout: MC modes will fail per frame with a clear message
                continue
            warm_up(output.maps, (h + 1, w + 1), ("confidence",))

    def _check_config(self, config: StreamConfig, session: StreamSession | None) -> None:
        if self._check is not None:
            self._check(config, session)

    def _next_batch(self) -> list[FrameJob] | None:
        limits = self.limits
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait(0.5)
            if not self._queue:
                return None  # stopping with nothing left
            now = time.perf_counter()
            deadline = now + limits.max_wait_ms / 1000.0
            if not self._new and not self._others_active(now):
                deadline = now  # no other stream sent a frame lately: waiting for one would only add latency
            self._new = False
            while len(self._queue) < limits.max_batch and not self._stopping:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            taken = self._queue.take(limits.max_batch)  # one frame per stream, least served first
            batch = []
            for job in taken:
                if id(job) in self._queue.progress or job.future.set_running_or_notify_cancel():
                    batch.append(job)
                else:
                    self._queue.finish(job)
        return batch

    def _others_active(self, now: float, within: float = 1.0) -> bool:
        """Whether a stream with no frame waiting queued one within ``within`` seconds (under the lock)."""
        for key, seen in list(self._seen.items()):
            if now - seen > 10 * within:
                del self._seen[key]  # long gone: forget it
            elif key not in self._queue.lanes and now - seen <= within:
                return True
        return False

    def _run_batch(self, batch: list[FrameJob]) -> None:
        """One engine step for the batch: frames starting now get their stream's changes first."""
        assert self._engine is not None
        started = time.perf_counter()
        jobs: list[FrameJob] = []
        works: list[FrameWork] = []
        for job in batch:
            work = self._queue.progress.get(id(job))
            if work is None:
                try:
                    self._apply_control(job)
                    work = self._engine.begin(job.frame)
                except ValueError as exc:  # a combination of settings the session refuses
                    self._done_with(job, InvalidParameters(str(exc)))
                    continue
                except ServiceError as exc:  # over max_samples or the stream memory budget
                    self._done_with(job, exc)
                    continue
                except Exception as exc:
                    log.exception("configuring stream %s failed", job.key)
                    self._done_with(job, exc)
                    continue
            jobs.append(job)
            works.append(work)
        self.metrics.batch_size.observe(len(batch))
        results = self._engine.step(works)
        for job, work, result in zip(jobs, works, results, strict=True):
            if self._settle(job, work, result):
                self._reply(job, work.config, result, started)

    def _apply_control(self, job: FrameJob) -> None:
        """The stream control a frame carries (config changes, reset), checked against the limits."""
        session = job.frame.session
        if session is None:
            self._check_config(job.frame.settings, None)
            return
        if job.changes:
            self._check_config(dataclasses.replace(session.config, **job.changes), session)
            session.reconfigure(**job.changes)
        if job.reset:
            session.reset()

    def _settle(self, job: FrameJob, work: FrameWork, result: StepResult) -> bool:
        """Charge the stream the passes it had; put a ``bnn`` frame with samples left back at the front
        of its lane; True when the frame is finished and to be answered."""
        with self._cond:
            self._queue.charge(job.key, result.passes)
            if result.pending and not job.future.done():
                self._queue.put_back(job, work)
                self._cond.notify()
                return False
            self._queue.finish(job)
        if result.error is not None:
            if result.failed_in == "forward":
                log.error("model error on stream %s: %s", job.key, result.error)
                self.metrics.model_errors.inc()
                _fail(job, ModelError(f"the network failed on this frame's batch: {result.error}"))
            else:
                log.error("blend failed for stream %s: %s", job.key, result.error)
                _fail(job, ModelError(f"blending this frame failed: {result.error}"))
            return False
        return result.output is not None

    def _reply(self, job: FrameJob, config: StreamConfig, result: StepResult, started: float) -> None:
        """The finished frame's maps on the host in the forms its reply needs, then encoded in the pool."""
        output = result.output
        assert output is not None
        timing = {"decode": job.decode_ms, "queue": (started - job.enqueued) * 1000.0,
                  "forward": result.forward_ms, "blend": result.blend_ms}
        height, width = job.frame.image.shape[:2]
        header: dict[str, object] = {
            "frame_index": output.frame_index, "mode": config.mode.value, "timestamp": job.frame.timestamp,
            "width": width, "height": height, "buffer_len": output.buffer_len,
        }
        session = job.frame.session
        if session is not None:
            header = {"stream_id": session.stream_id, **header, "dropped": session.stats.dropped}
        try:
            probes = self.taps.measure(job, output.maps) if self.taps is not None else None
            t0 = time.perf_counter()
            specs = output_specs(job.reply, self.limits.max_output_pixels)
            hosts = [maps_to_host(output.maps, (height, width), spec, self._staging) for spec in specs]
            timing["maps"] = (time.perf_counter() - t0) * 1000.0
        except Exception as exc:
            log.exception("result maps failed for stream %s", job.key)
            _fail(job, ModelError(f"this frame's result maps failed: {exc}"))
            return
        try:
            self._encode.submit(self._finish, job, config.mode, hosts, header, timing, probes)
        except RuntimeError:  # the encode pool is shut down: the server stopped while this batch ran
            _fail(job, NotReady("the server shut down before this frame was answered"))

    def _done_with(self, job: FrameJob, exc: BaseException) -> None:
        with self._cond:
            self._queue.finish(job)
        _fail(job, exc)

    def _finish(
        self, job: FrameJob, mode: Mode, hosts: list[HostMaps], header: dict[str, object], timing: dict[str, float],
        probes: Any = None,
    ) -> None:
        try:
            assert self.segmenter is not None
            result = encode_result(job, mode, hosts, header, timing, self.segmenter.meta.palette)
            if probes is not None and self.taps is not None:
                self.taps.finish(job, probes, hosts[0], header)
        except Exception as exc:
            log.exception("encoding failed for stream %s", job.key)
            _fail(job, exc)
            return
        finally:
            for done in hosts:
                done.done()
        self.metrics.count_frame(mode.value)
        self.metrics.observe_timing(timing)
        _resolve(job, result)


def _resolve(job: FrameJob, result: FrameResult | None) -> None:
    with contextlib.suppress(InvalidStateError):  # cancelled: the client went away
        job.future.set_result(result)


def _fail(job: FrameJob, exc: BaseException) -> None:
    with contextlib.suppress(InvalidStateError):
        job.future.set_exception(exc)
