"""Harvest: frames above a rule saved atomically within a disk budget (oldest first), exported for CVAT
and as a SegNet folder that ``vqseg train --data ... --init`` fine-tunes on."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from prometheus_client import CollectorRegistry

from models import load_checkpoint
from server.events.export import export, read_harvest
from server.events.harvest import Harvester, HarvestItem
from server.events.metrics import EventMetrics
from synthetic import CLASS_NAMES, PALETTE
from tests.server.conftest import launch
from tests.server.events.scenes import JPEG, jpeg
from vqseg.cli import main as vqseg

MiB = 1024 * 1024


def folder_bytes(root: Path) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(root) for f in files
               if os.path.exists(os.path.join(d, f)))


def noisy_item(harvester: Harvester, n: int, size: tuple[int, int] = (240, 320)) -> HarvestItem:
    rng = np.random.default_rng(n)
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    labels = rng.integers(0, len(CLASS_NAMES), (size[0] // 4, size[1] // 4), dtype=np.uint8)
    uncertainty = rng.random((size[0] // 4, size[1] // 4), dtype=np.float32)
    return HarvestItem(harvester.new_id("cam", n), {"stream": "cam", "frame": n}, image, labels, uncertainty)


def test_the_budget_holds_and_the_oldest_go_first(tmp_path: Path) -> None:
    metrics = EventMetrics(CollectorRegistry())
    budget = MiB
    harvester = Harvester(tmp_path, budget, 0.0, metrics, CLASS_NAMES, PALETTE)
    ids = []
    for n in range(30):  # ~240 kB each: about four fit
        item = noisy_item(harvester, n)
        ids.append(item.item_id)
        harvester._save(item)  # the writer thread's step, run here to check the folder after each one
        assert folder_bytes(tmp_path) <= budget
        assert harvester.used_bytes == folder_bytes(tmp_path)
    kept = sorted(p.name for p in (tmp_path / "items").iterdir())
    assert 2 <= len(kept) < 30 and kept == ids[-len(kept):]  # the newest survive
    manifest = [json.loads(line)["id"] for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    assert manifest == kept
    assert metrics.harvest_evicted._value.get() == 30 - len(kept)
    # a restart takes the folder over as it is; leftovers of an interrupted write go
    (tmp_path / "items" / ".half.tmp").mkdir()
    again = Harvester(tmp_path, budget, 0.0, metrics, CLASS_NAMES, PALETTE)
    assert again.used_bytes == folder_bytes(tmp_path) and not (tmp_path / "items" / ".half.tmp").exists()


def test_rate_limit_per_stream(tmp_path: Path) -> None:
    harvester = Harvester(tmp_path, MiB, 60.0, EventMetrics(CollectorRegistry()), CLASS_NAMES, PALETTE)
    assert harvester.due("a") and not harvester.due("a") and harvester.due("b")
    assert harvester.due("a", forced=True)  # a frame that raises an event is always offered


def test_serve_harvest_export_fine_tune(street_checkpoint: Path, tmp_path: Path) -> None:
    harvest = tmp_path / "harvest"
    live = launch(street_checkpoint, harvest_dir=str(harvest), harvest_bytes=MiB, harvest_interval=0.0)
    sizes: list[int] = []
    stop = threading.Event()

    def watch_folder() -> None:
        while not stop.is_set():
            if harvest.exists():
                sizes.append(folder_bytes(harvest))
            time.sleep(0.01)

    sampler = threading.Thread(target=watch_folder)
    sampler.start()
    rng = np.random.default_rng(0)
    try:
        with live.client() as client:
            client.post("/v1/streams/cam-9/frames", content=jpeg(np.zeros((240, 320, 3), np.uint8)), headers=JPEG)
            rule = {"name": "any", "measure": "roi_mean", "threshold": 0.0, "cooldown": 0}
            assert client.put("/v1/streams/cam-9/rules", json={"rules": [rule]}).status_code == 200
            for i in range(40):
                image = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
                r = client.post("/v1/streams/cam-9/frames", content=jpeg(image), headers=JPEG,
                                params={"timestamp": i / 10})
                assert r.status_code == 200
            deadline = time.monotonic() + 60
            while "vqseg_harvest_evicted_total 0.0" in (metrics := client.get("/metrics").text):
                assert time.monotonic() < deadline, "nothing was evicted"
                time.sleep(0.1)
    finally:
        stop.set()
        sampler.join(10)
        live.stop()
    assert sizes and max(sizes) <= MiB
    assert "vqseg_harvested_frames_total" in metrics
    items, classes, _ = read_harvest(harvest)
    assert 2 <= len(items) < 40 and classes == list(CLASS_NAMES)

    out = tmp_path / "export"
    written = export(harvest, out)
    labelmap = (written["cvat"] / "labelmap.txt").read_text().splitlines()
    assert labelmap[0].startswith("# label:color_rgb")
    assert any(line.startswith(f"{CLASS_NAMES[0]}:") for line in labelmap)
    listed = (written["cvat"] / "ImageSets/Segmentation/default.txt").read_text().split()
    assert listed == [i.item_id for i in items]
    mask = cv2.imread(str(written["cvat"] / "SegmentationClass" / f"{listed[0]}.png"))
    assert mask.shape == (240, 320, 3)
    assert (out / "cvat.zip").is_file()
    annot = cv2.imread(str(written["segnet"] / "trainannot" / f"{listed[0]}.png"), cv2.IMREAD_UNCHANGED)
    assert annot.shape == (240, 320) and annot.max() < len(CLASS_NAMES)

    tuned = tmp_path / "tuned.pt"
    code = vqseg(["train", "--data", str(written["segnet"]), "--init", str(street_checkpoint), "--steps", "1",
                  "--batch", "2", "--input-size", "24x32", "--crop", "24x32", "--width", "4", "--threads", "1",
                  "--eval-every", "0", "--out", str(tuned)])
    assert code == 0
    before, _ = load_checkpoint(street_checkpoint)
    after, meta = load_checkpoint(tuned)
    assert meta.training["frames"] == len(items) and meta.training["steps_done"] == 1
    start = before.state_dict()
    convs = {k: v for k, v in after.state_dict().items() if k.endswith("weight") and v.dim() == 4}
    moved = max(float((v - start[k]).abs().max()) for k, v in convs.items())
    assert 0.0 < moved < 0.05  # one small step away from the --init weights (a fresh net differs by far more)
    assert meta.class_names == tuple(CLASS_NAMES)
