"""Everything one running server owns, created by the app's lifespan and reached through dependencies.

The runtime starts the inference worker (which loads and warms up the model in its own thread), the
idle-eviction task and the pools for decoding; ``drain`` (graceful shutdown) stops accepting frames,
lets in-flight frames finish and closes sockets with 1001; ``stop`` ends every thread with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

from models import Segmenter, load_segmenter
from models.capabilities import Capabilities, capabilities_of
from server.decode import DecodedFrame, FrameLimits, decode_frame
from server.errors import NotReady, Overloaded
from server.events.service import EventService
from server.frame_budget import Admission, ByteBudget
from server.jobs import FrameJob, FrameResult
from server.metrics import ServiceMetrics
from server.overlay import OverlayHub
from server.params import config_dict, options_info
from server.settings import Settings
from server.source_policy import ffmpeg_options
from server.stream_budget import StreamBudget
from server.streams import SessionShape, StreamDirectory, StreamEntry
from server.taps import FrameTaps
from server.worker import InferenceWorker, WorkerLimits
from streaming import MAP_NAMES, Mode

log = logging.getLogger(__name__)

SegmenterLoader = Callable[[], Segmenter]
FFMPEG_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"


class Runtime:
    def __init__(self, settings: Settings, load: SegmenterLoader | None = None) -> None:
        self.settings = settings
        self.keys = settings.api_keys()
        self.limits = FrameLimits(settings.max_frame_bytes, settings.max_frame_pixels)
        self.metrics = ServiceMetrics(settings.metrics_streams)
        self._load = load or self._load_model
        self.capabilities: Capabilities | None = None
        self.on_load_failure: Callable[[str], None] | None = None  # ``vqseg serve`` exits (exit_on_error)
        self.budget = StreamBudget(settings)
        self.worker = InferenceWorker(
            self._load_checked,
            WorkerLimits(settings.max_batch, settings.max_wait_ms, settings.queue_size, settings.encode_threads,
                         settings.mc_chunk, settings.max_output_pixels),
            self.metrics,
            on_ready=self._on_model_ready,
            check_config=self.budget.check,
            on_failure=self._on_load_failure,
        )
        self._decode_pool = ThreadPoolExecutor(settings.decode_threads, thread_name_prefix="vqseg-decode")
        self.policy = settings.source_policy()
        self.frame_memory = ByteBudget(settings.max_decoded_bytes)
        self.admission = Admission(settings.queue_size, settings.max_rest_per_stream, lambda: self.worker.depth)
        self.pulls: list[Any] = []  # every SourceIngest started, until its thread has ended
        self._directory: StreamDirectory | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closing = False
        self.started_at = time.time()
        self.events = EventService(settings, self.metrics.registry, self._find_stream)
        self.overlays = OverlayHub(settings.max_overlay_viewers, settings.max_overlay_viewers_per_stream,
                                   self.events.metrics.overlay_viewers.set)
        self.worker.taps = FrameTaps([self.overlays])
        self._bind_metrics()

    def _load_model(self) -> Segmenter:
        s = self.settings
        return load_segmenter(s.model, s.device, s.backend, threads=s.threads or None, sidecar=s.sidecar,
                              describe=s.model_description())

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        # FFmpeg (read per open): RTSP over TCP and no HTTP redirects, as the pull policy assumes
        os.environ[FFMPEG_ENV] = ffmpeg_options(os.environ.get(FFMPEG_ENV))
        self.events.start(self.loop)
        self.overlays.loop = self.loop
        self.worker.start()
        self._tasks.append(asyncio.create_task(self._evict_forever(), name="vqseg-evict"))

    async def drain(self, timeout: float | None = None) -> None:
        """Graceful shutdown, part 1: refuse new frames, finish in-flight ones, close sockets (1001)."""
        if self.closing:
            return
        self.closing = True
        timeout = self.settings.shutdown_timeout if timeout is None else timeout
        if self._directory is None:
            return
        waiters = [c for e in self._directory.entries() for c in e.connections]
        self._directory.close_all(1001, "server shutting down")
        closed = [getattr(c, "closed", None) for c in waiters]
        pending = [w.wait() for w in closed if isinstance(w, asyncio.Event)]
        if pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*pending), timeout)

    async def stop(self) -> None:
        """Part 2: cancel tasks, stop pulled sources and the worker, each wait bounded."""
        await self.drain()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)
        timeout = self.settings.shutdown_timeout
        for ingest in self.pulls:  # asked to stop by drain(); a blocked read ends within pull_timeout
            ingest.stop()
        for ingest in self.pulls:
            await asyncio.to_thread(ingest.join, self.settings.pull_timeout + 2.0)
        await asyncio.to_thread(self.worker.stop, timeout)
        await asyncio.to_thread(self.events.stop, timeout)
        self._decode_pool.shutdown(wait=False, cancel_futures=True)

    async def _evict_forever(self) -> None:
        period = max(0.05, min(5.0, self.settings.idle_timeout / 4))
        while True:
            await asyncio.sleep(period)
            if self._directory is not None:
                try:
                    self._directory.evict_idle()
                    if self.events.monitor is not None:
                        self.events.monitor.forget({e.stream_id for e in self._directory.entries()})
                except Exception:
                    log.exception("idle eviction failed")

    def _load_checked(self) -> Segmenter:  # worker thread
        """Load the model and find what it can serve; an MC default mode on a model without dropout
        falls back to vqdnn, unless the mode was set explicitly (then the model cannot serve it: fail)."""
        segmenter = self._load()
        self.capabilities = capabilities_of(segmenter)
        mode = self.settings.mode.value
        refusal = self.capabilities.refusal(mode)
        if refusal is not None:
            if "mode" in self.settings.model_fields_set:
                raise ValueError(f"the default mode: {refusal}")
            fallback = "vqdnn" if self.capabilities.deterministic else "vqbnn"
            log.warning("%s cannot serve %s (%s): streams default to %s", segmenter.meta.name, mode,
                        self.capabilities.reason, fallback)
            self.settings = self.settings.model_copy(update={"mode": Mode(fallback)})
        return segmenter

    def _on_load_failure(self, reason: str) -> None:  # worker thread
        if self.on_load_failure is not None:
            self.on_load_failure(reason)
        else:
            log.error("inference worker: %s", reason)

    def _on_model_ready(self, segmenter: Segmenter) -> None:  # worker thread, before ready is set
        meta = segmenter.meta
        self._directory = StreamDirectory(
            SessionShape(meta.num_classes, meta.input_size, segmenter.device), self.settings.stream_defaults(),
            max_streams=self.settings.max_streams, idle_timeout=self.settings.idle_timeout,
            subscriber_queue=self.settings.subscriber_queue, max_per_key=self.settings.max_streams_per_key,
            on_subscriber_drop=lambda n: self.metrics.count_dropped("subscriber", n),
            check_config=self.budget.check_new, watcher_bytes=self.settings.max_watcher_bytes,
        )
        self.budget.bind(meta.num_classes, meta.input_size, segmenter.device, self._directory.buffer_bytes,
                         self.capabilities)
        self.overlays.palette = meta.palette
        monitor = self.events.on_model_ready(meta.class_names, meta.palette)
        assert self.worker.taps is not None
        self.worker.taps.taps.append(monitor)

    # ---- what routes use -------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.worker.ready.is_set() and not self.closing

    def require_ready(self) -> None:
        if self.closing:
            raise NotReady("the server is shutting down")
        if not self.worker.ready.is_set():
            raise NotReady(self.worker.failure or "the model is still loading")

    @property
    def directory(self) -> StreamDirectory:
        self.require_ready()
        assert self._directory is not None
        return self._directory

    @property
    def segmenter(self) -> Segmenter:
        self.require_ready()
        assert self.worker.segmenter is not None
        return self.worker.segmenter

    async def decode(self, data: bytes) -> DecodedFrame:
        """Check and decode an encoded frame in the decode pool (never on the event loop); its pixels
        count against ``max_decoded_bytes`` from before the decode until the array is freed."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._decode_pool, decode_frame, data, self.limits, self.frame_memory)

    def live_pulls(self) -> int:
        """Pulled-source threads still running, including those of deleted streams still ending."""
        self.pulls = [p for p in self.pulls if p.alive]
        return len(self.pulls)

    def reserve_pull(self) -> None:
        if self.live_pulls() >= self.settings.max_streams:
            raise Overloaded(f"{len(self.pulls)} pulled sources are still running or ending (max_streams); retry later")

    def submit(self, job: FrameJob) -> asyncio.Future[FrameResult | None]:
        """Queue ``job`` for the worker (raises Overloaded/NotReady at once); await the answer."""
        self.require_ready()
        self.worker.submit(job)
        return asyncio.wrap_future(job.future)

    def deliver(self, result: FrameResult | None) -> None:
        """A stream's processed frame reached the loop: summary for metrics, fan-out to watchers."""
        if result is not None and self._directory is not None:
            self._directory.deliver(result)

    async def process(self, job: FrameJob) -> FrameResult | None:
        """Run ``job`` through the worker; None when it was dropped for a newer frame."""
        result = await self.submit(job)
        self.deliver(result)
        return result

    def model_info(self) -> dict[str, Any]:
        seg = self.segmenter
        meta = seg.meta
        return {
            "name": meta.name,
            "arch": meta.arch,
            "classes": list(meta.class_names),
            "palette": [list(c) for c in meta.palette],
            "num_classes": meta.num_classes,
            "input_size": list(meta.input_size),
            "backend": seg.backend,
            "backend_choice": getattr(seg, "backend_choice", seg.backend),
            "device": str(seg.device),
            "dropout": meta.dropout,
            "temperatures": dict(meta.temperatures),
            "mc_rates": {mode: meta.mc_rate(mode) for mode in ("bnn", "vqbnn")},
            "mc_samples": {"vqbnn": meta.samples_per_frame("vqbnn")},
            "capabilities": (self.capabilities or capabilities_of(seg)).as_dict(),
            "source": {k: v for k, v in meta.arch_options.items() if k in ("format", "sidecar", "output", "layout")},
            "maps": list(MAP_NAMES),
            "defaults": config_dict(self.settings.stream_defaults()),
            "options": options_info(),
        }

    def _find_stream(self, stream_id: str) -> StreamEntry | None:
        return self._directory.find(stream_id) if self._directory is not None else None

    def _bind_metrics(self) -> None:
        live = self.metrics.live
        live.ready = lambda: self.ready
        live.queue_depth = lambda: self.worker.depth
        live.active_streams = lambda: len(self._directory) if self._directory is not None else 0
        live.subscribers = lambda: self._directory.subscriber_count() if self._directory is not None else 0
        live.buffer_bytes = lambda: self._directory.buffer_bytes() if self._directory is not None else 0
        live.streams = lambda: self._directory.gauges() if self._directory is not None else []
        live.gpu_memory = _gpu_memory


def _gpu_memory() -> tuple[int, int] | None:
    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return int(torch.cuda.memory_allocated()), int(torch.cuda.memory_reserved())
