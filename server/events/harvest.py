"""Harvest: frames that cross a watch rule saved for labelling, within a disk budget.

Layout of ``VQSEG_HARVEST_DIR``::

    classes.json                 the model's class names and palette
    manifest.jsonl               one line per saved frame (the same as its item.json)
    items/<id>/image.jpg         the frame as the camera sent it
    items/<id>/labels.png        the predicted labels (class indices): the pre-annotation
    items/<id>/uncertainty.png   normalised predictive entropy, 0..255
    items/<id>/item.json         stream, rules and values, frame index, timestamps

An item is written into a hidden temporary folder and renamed into ``items/`` (atomic: a reader
never sees half an item); ``manifest.jsonl`` is appended, and rewritten through a temporary file and
a rename when old items go. Before an item is written, the oldest items are deleted until the folder
(items, ``classes.json`` and the manifest, counted twice for its rewrite) stays within ``budget``
bytes. Frames are saved at most every ``interval`` seconds per stream (a frame that raises an event
is always offered), by one writer thread behind a bounded queue: a slow disk drops frames (counted),
never inference.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from server.events.metrics import EventMetrics

log = logging.getLogger(__name__)

ITEMS = "items"
MANIFEST = "manifest.jsonl"
CLASSES = "classes.json"
FILES = ("image.jpg", "labels.png", "uncertainty.png", "item.json")


@dataclass
class HarvestItem:
    item_id: str
    meta: dict[str, object]
    image: np.ndarray  # (H, W, 3) RGB
    labels: np.ndarray  # (h, w) uint8, any size: resized to the image with nearest neighbour
    uncertainty: np.ndarray  # (h, w) float32 in [0, 1]


def encode_item(item: HarvestItem) -> dict[str, bytes]:
    """The item's files, encoded in memory (labels and uncertainty at the image's size)."""
    height, width = item.image.shape[:2]
    labels, uncertainty = item.labels, item.uncertainty
    if labels.shape != (height, width):
        labels = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
    if uncertainty.shape != (height, width):
        uncertainty = cv2.resize(uncertainty, (width, height), interpolation=cv2.INTER_LINEAR)
    out: dict[str, bytes] = {}
    for name, array, ext, params in (
        ("image.jpg", cv2.cvtColor(item.image, cv2.COLOR_RGB2BGR), ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95]),
        ("labels.png", labels, ".png", []),
        ("uncertainty.png", (np.clip(uncertainty, 0.0, 1.0) * 255.0).round().astype(np.uint8), ".png", []),
    ):
        ok, data = cv2.imencode(ext, array, params)
        if not ok:
            raise ValueError(f"cannot encode {name}")
        out[name] = data.tobytes()
    meta = {**item.meta, "id": item.item_id, "width": width, "height": height}
    out["item.json"] = json.dumps(meta, sort_keys=True).encode()
    return out


class Harvester:
    """Saves items in its own thread; ``offer`` never blocks."""

    def __init__(
        self, root: str | Path, budget: int, interval: float, metrics: EventMetrics,
        class_names: Sequence[str], palette: Sequence[Sequence[int]], queue_size: int = 16,
    ) -> None:
        self.root = Path(root)
        self.budget = budget
        self.interval = interval
        self.metrics = metrics
        self._queue: queue.Queue[HarvestItem | None] = queue.Queue(queue_size)
        self._last: dict[str, float] = {}  # stream -> monotonic time of its last accepted frame
        self._lock = threading.Lock()
        self._sizes: OrderedDict[str, int] = OrderedDict()  # item id -> bytes, oldest first
        self._manifest_bytes = 0
        self._count = 0
        (self.root / ITEMS).mkdir(parents=True, exist_ok=True)
        classes = json.dumps({"classes": list(class_names), "palette": [list(c) for c in palette]}).encode()
        _atomic_write(self.root / CLASSES, classes)
        self._fixed = len(classes)
        self._load()
        self._thread = threading.Thread(target=self._main, name="vqseg-harvest", daemon=True)

    # ---- any thread --------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def due(self, stream_id: str, forced: bool = False) -> bool:
        """Whether a frame of ``stream_id`` may be saved now (rate limit); counts the skipped ones."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(stream_id)
            if not forced and last is not None and now - last < self.interval:
                self.metrics.harvest_skipped.labels("rate").inc()
                return False
            self._last[stream_id] = now
            if len(self._last) > 4096:  # forget streams long gone
                self._last = {k: v for k, v in self._last.items() if now - v < max(self.interval, 60.0)}
            return True

    def new_id(self, stream_id: str, frame: int) -> str:
        with self._lock:
            self._count += 1
            return f"{time.time_ns() // 1000:016d}-{self._count % 1000:03d}-{stream_id}-{frame}"

    def offer(self, item: HarvestItem) -> bool:
        try:
            self._queue.put_nowait(item)
            return True
        except queue.Full:
            self.metrics.harvest_skipped.labels("queue").inc()
            return False

    def stop(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout)
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def used_bytes(self) -> int:
        with self._lock:
            return self._fixed + sum(self._sizes.values()) + self._manifest_bytes

    # ---- writer thread -----------------------------------------------------------------------
    def _main(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._save(item)
            except Exception:
                log.exception("harvest: saving %s failed", item.item_id)

    def _save(self, item: HarvestItem) -> None:
        files = encode_item(item)
        line = files["item.json"] + b"\n"
        size = sum(len(v) for v in files.values())
        if self._fixed + size + len(line) > self.budget:
            self.metrics.harvest_skipped.labels("too_large").inc()
            return
        evicted = []
        with self._lock:  # room for the item, and for the manifest's old and new copy while it is rewritten
            while self._sizes and (self._fixed + sum(self._sizes.values()) + 2 * self._manifest_bytes + size
                                   + len(line) > self.budget):
                old, _ = self._sizes.popitem(last=False)
                evicted.append(old)
        if evicted:
            self._evict(evicted)
        tmp = self.root / ITEMS / f".{item.item_id}.tmp"
        tmp.mkdir()
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        os.replace(tmp, self.root / ITEMS / item.item_id)
        with open(self.root / MANIFEST, "ab") as manifest:
            manifest.write(line)
        with self._lock:
            self._sizes[item.item_id] = size
            self._manifest_bytes += len(line)
        self.metrics.harvested.inc()
        self.metrics.harvest_bytes.set(self.used_bytes)

    def _evict(self, ids: list[str]) -> None:
        for item_id in ids:
            shutil.rmtree(self.root / ITEMS / item_id, ignore_errors=True)
        self.metrics.harvest_evicted.inc(len(ids))
        gone = set(ids)
        kept = [line for line in _manifest_lines(self.root) if json.loads(line).get("id") not in gone]
        data = b"".join(line + b"\n" for line in kept)
        _atomic_write(self.root / MANIFEST, data)
        with self._lock:
            self._manifest_bytes = len(data)

    def _load(self) -> None:
        """Take over what an earlier run left: complete items (oldest first), no temporary folders."""
        items = self.root / ITEMS
        for path in sorted(items.iterdir()):
            if path.name.startswith("."):
                shutil.rmtree(path, ignore_errors=True)
            elif path.is_dir():
                self._sizes[path.name] = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        present = set(self._sizes)
        kept = [line for line in _manifest_lines(self.root) if json.loads(line).get("id") in present]
        data = b"".join(line + b"\n" for line in kept)
        _atomic_write(self.root / MANIFEST, data)
        self._manifest_bytes = len(data)
        self.metrics.harvest_bytes.set(self.used_bytes)


def _manifest_lines(root: Path) -> list[bytes]:
    path = root / MANIFEST
    if not path.exists():
        return []
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
