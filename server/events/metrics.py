"""Prometheus counters of the event machinery, on the app's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class EventMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.events = Counter("vqseg_events", "Watch-rule events raised or cleared", ["kind"], registry=r)
        self.sent = Counter("vqseg_event_sink_sent", "Events delivered, per sink", ["sink"], registry=r)
        self.dropped = Counter(
            "vqseg_event_sink_dropped", "Events a sink lost (its queue was full: slow or dead sink)", ["sink"],
            registry=r,
        )
        self.failed = Counter(
            "vqseg_event_sink_failed", "Events a sink gave up on after its retries (or refused by policy)",
            ["sink"], registry=r,
        )
        self.harvested = Counter("vqseg_harvested_frames", "Frames saved for labelling", registry=r)
        self.harvest_skipped = Counter(
            "vqseg_harvest_skipped", "Frames above a rule not saved (rate limit, queue full, too large)",
            ["reason"], registry=r,
        )
        self.harvest_evicted = Counter(
            "vqseg_harvest_evicted", "Saved frames deleted to stay within the disk budget (oldest first)", registry=r
        )
        self.harvest_bytes = Gauge("vqseg_harvest_bytes", "Bytes the harvest folder holds", registry=r)
        self.overlay_viewers = Gauge("vqseg_overlay_viewers", "Open overlay.mjpg viewers", registry=r)
