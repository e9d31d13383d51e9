"""The watch-rule tap: measures each frame of a stream with rules, turns crossings into events and
offers frames above a rule to the harvest.

Per stream it keeps the rules (set over REST/WebSocket, else the server's ``VQSEG_RULES``) and one
``RuleState`` per rule; a stream id that comes back with a new session starts with the defaults again.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from server.events.bus import EventBus
from server.events.harvest import Harvester, HarvestItem
from server.events.measure import CompiledRule, RegionMasks, measure
from server.events.rules import WatchRule, check_rule_set
from server.events.sinks import Event
from server.events.watch import RAISED, RuleState
from server.frame_maps import HostMaps
from server.jobs import FrameJob
from streaming import StreamSession, UncertaintyMaps
from vqseg_client.result import unit_float


@dataclass
class StreamWatch:
    session: StreamSession
    rules: tuple[CompiledRule, ...]
    custom: bool = False  # set for this stream (not the server's defaults)
    states: dict[str, RuleState] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Probe:
    watch: StreamWatch
    rules: tuple[CompiledRule, ...]
    values: torch.Tensor  # (R,) on the device, read after the frame's host copy


class EventMonitor:
    def __init__(self, defaults: tuple[WatchRule, ...], class_names: tuple[str, ...], bus: EventBus,
                 harvester: Harvester | None = None) -> None:
        self.class_names = class_names
        self.defaults = self.compile(defaults)
        self.bus = bus
        self.harvester = harvester
        self._masks = RegionMasks()
        self._watches: dict[str, StreamWatch] = {}
        self._lock = threading.Lock()

    def compile(self, rules: tuple[WatchRule, ...]) -> tuple[CompiledRule, ...]:
        """Rules with their classes resolved against the model's; ValueError when one does not fit."""
        check_rule_set(rules)
        return tuple(CompiledRule(rule, rule.class_index(self.class_names)) for rule in rules)

    # ---- event loop (routes) -----------------------------------------------------------------
    def set_rules(self, session: StreamSession, rules: tuple[WatchRule, ...]) -> None:
        compiled = self.compile(rules)
        with self._lock:
            self._watches[session.stream_id] = StreamWatch(session, compiled, custom=True)

    def rules_of(self, session: StreamSession) -> tuple[WatchRule, ...]:
        return tuple(c.rule for c in self._watch(session).rules)

    def state_of(self, session: StreamSession) -> dict[str, dict[str, Any]]:
        watch = self._watch(session)
        with watch.lock:
            return {name: {"raised": s.raised, "value": s.last_value, "timestamp": s.last_seen,
                           "last_raised": s.last_raised} for name, s in watch.states.items()}

    def forget(self, stream_ids: set[str]) -> None:
        """Drop the watches of streams that are gone."""
        with self._lock:
            for stream_id in [k for k in self._watches if k not in stream_ids]:
                del self._watches[stream_id]

    def _watch(self, session: StreamSession) -> StreamWatch:
        with self._lock:
            watch = self._watches.get(session.stream_id)
            if watch is None or watch.session is not session:
                watch = self._watches[session.stream_id] = StreamWatch(session, self.defaults)
            return watch

    # ---- inference thread --------------------------------------------------------------------
    def measure(self, job: FrameJob, maps: UncertaintyMaps) -> Probe | None:
        if job.frame.session is None:
            return None
        watch = self._watch(job.frame.session)
        if not watch.rules:
            return None
        return Probe(watch, watch.rules, measure(maps, watch.rules, self._masks))

    # ---- encode pool -------------------------------------------------------------------------
    def finish(self, job: FrameJob, probe: Probe, host: HostMaps, header: dict[str, object]) -> None:
        assert job.frame.session is not None
        values = probe.values.tolist()
        stream_id = job.frame.session.stream_id
        frame = int(header.get("frame_index", 0))  # type: ignore[call-overload]
        with probe.watch.lock:
            kinds = [probe.watch.states.setdefault(c.rule.name, RuleState()).step(c.rule, v, job.frame.timestamp)
                     for c, v in zip(probe.rules, values, strict=True)]
        now = time.time()
        above = [(c.rule, v) for c, v in zip(probe.rules, values, strict=True) if v > c.rule.threshold]
        raised = any(k == RAISED for k in kinds)
        snapshot = self._harvest(job, host, frame, now, [(r, v) for r, v in above if r.harvest], raised)
        for compiled, value, kind in zip(probe.rules, values, kinds, strict=True):
            if kind is None:
                continue
            rule = compiled.rule
            payload: dict[str, object] = {
                "type": "event", "event": kind, "id": uuid.uuid4().hex, "stream": stream_id, "rule": rule.name,
                "measure": rule.measure, "value": round(value, 6), "threshold": rule.threshold, "frame": frame,
                "timestamp": job.frame.timestamp, "time": now, "snapshot": snapshot if kind == RAISED else None,
            }
            self.bus.publish(Event(payload, json.dumps(payload), rule.webhooks))

    def _harvest(self, job: FrameJob, host: HostMaps, frame: int, now: float,
                 above: list[tuple[WatchRule, float]], raised: bool) -> str | None:
        harvester = self.harvester
        if harvester is None or not above or job.frame.session is None:
            return None
        stream_id = job.frame.session.stream_id
        if not harvester.due(stream_id, forced=raised):
            return None
        item_id = harvester.new_id(stream_id, frame)
        meta = {
            "stream": stream_id, "frame": frame, "timestamp": job.frame.timestamp, "time": now,
            "rules": [{"rule": r.name, "value": round(v, 6), "threshold": r.threshold} for r, v in above],
        }
        item = HarvestItem(item_id, meta, np.array(job.frame.image, copy=True), np.array(host.labels, copy=True),
                           unit_float(host.uncertainty))
        return item_id if harvester.offer(item) else None

