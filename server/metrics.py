"""Prometheus metrics on a per-app registry (so tests can build many apps).

Counters and histograms are updated where things happen (worker, routes); gauges that describe live
state (streams, queue depth, GPU memory, per-stream uncertainty) are read at scrape time by a
collector, so they can never go stale. Per-stream series are bounded: the ``metrics_streams`` busiest
streams get their own ``stream`` label, the rest are averaged into ``stream="~other"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STAGES = ("decode", "queue", "forward", "blend", "maps", "encode", "total")
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class StreamGauge:
    """One stream's latest state for the scrape."""

    stream_id: str
    frames: int
    mean_uncertainty: float | None
    low_confidence: float | None


@dataclass
class LiveState:
    """Callbacks the collector reads at scrape time (set by the runtime once things exist)."""

    active_streams: Callable[[], int] = lambda: 0
    queue_depth: Callable[[], int] = lambda: 0
    subscribers: Callable[[], int] = lambda: 0
    buffer_bytes: Callable[[], int] = lambda: 0
    ready: Callable[[], bool] = lambda: False
    streams: Callable[[], list[StreamGauge]] = list
    gpu_memory: Callable[[], tuple[int, int] | None] = lambda: None


class ServiceMetrics:
    def __init__(self, max_stream_labels: int = 20) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.live = LiveState()
        self.max_stream_labels = max_stream_labels
        r = self.registry
        self.frames = Counter("vqseg_frames", "Frames processed", ["mode"], registry=r)
        self.dropped = Counter(
            "vqseg_dropped_frames", "Frames dropped (newest_frame_wins, overloaded, subscriber)", ["reason"], registry=r
        )
        self.errors = Counter("vqseg_errors", "Errors answered to clients, by code", ["code"], registry=r)
        self.stage_seconds = Histogram(
            "vqseg_stage_seconds", "Latency per stage of a frame's way", ["stage"], buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "vqseg_batch_size", "Frames per forward batch", buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64), registry=r
        )
        self.model_errors = Counter("vqseg_model_errors", "Batches the network failed on", registry=r)
        r.register(_LiveCollector(self))

    # updates (thread-safe: prometheus_client locks internally)
    def observe_stage(self, stage: str, seconds: float) -> None:
        self.stage_seconds.labels(stage).observe(max(0.0, seconds))

    def observe_timing(self, timing_ms: dict[str, float]) -> None:
        for stage, ms in timing_ms.items():
            if stage in STAGES:
                self.observe_stage(stage, ms / 1000.0)

    def count_frame(self, mode: str) -> None:
        self.frames.labels(mode).inc()

    def count_dropped(self, reason: str, n: int = 1) -> None:
        if n:
            self.dropped.labels(reason).inc(n)

    def count_error(self, code: str) -> None:
        self.errors.labels(code).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _LiveCollector(Collector):
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        live = self.metrics.live
        yield _gauge("vqseg_ready", "1 once the model is loaded and warmed up", float(live.ready()))
        yield _gauge("vqseg_active_streams", "Live stream sessions", live.active_streams())
        yield _gauge("vqseg_queue_depth", "Frames waiting for the inference worker", live.queue_depth())
        yield _gauge("vqseg_subscribers", "Open subscribe WebSockets", live.subscribers())
        yield _gauge("vqseg_buffer_bytes", "Device memory held by stream ring buffers", live.buffer_bytes())
        gpu = live.gpu_memory()
        if gpu is not None:
            yield _gauge("vqseg_gpu_memory_allocated_bytes", "torch.cuda.memory_allocated", gpu[0])
            yield _gauge("vqseg_gpu_memory_reserved_bytes", "torch.cuda.memory_reserved", gpu[1])
        yield from self._per_stream(live.streams())

    def _per_stream(self, streams: list[StreamGauge]) -> Iterable[Metric]:
        entropy = GaugeMetricFamily(
            "vqseg_stream_mean_uncertainty", "Mean normalised predictive entropy of the stream's latest frame",
            labels=["stream"],
        )
        low = GaugeMetricFamily(
            "vqseg_stream_low_confidence_share", "Share of pixels under 0.9 confidence in the stream's latest frame",
            labels=["stream"],
        )
        seen = [s for s in streams if s.mean_uncertainty is not None and s.low_confidence is not None]
        seen.sort(key=lambda s: (-s.frames, s.stream_id))
        cap = self.metrics.max_stream_labels
        for s in seen[:cap]:
            entropy.add_metric([s.stream_id], float(s.mean_uncertainty or 0.0))
            low.add_metric([s.stream_id], float(s.low_confidence or 0.0))
        rest = seen[cap:]
        if rest:
            entropy.add_metric(["~other"], sum(float(s.mean_uncertainty or 0.0) for s in rest) / len(rest))
            low.add_metric(["~other"], sum(float(s.low_confidence or 0.0) for s in rest) / len(rest))
        yield entropy
        yield low


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))
