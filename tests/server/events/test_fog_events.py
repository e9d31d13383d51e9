"""A synthetic street that turns foggy raises exactly one event per crossing (hold and cool-down
honoured), delivered over the WebSocket, at a real mosquitto broker and at a webhook receiver."""

from __future__ import annotations

import json
import time
from pathlib import Path

from websockets.sync.client import connect

from tests.server.conftest import launch
from tests.server.events.conftest import Broker, MqttWatcher, Receiver
from tests.server.events.fog_model import fog_segmenter
from tests.server.events.scenes import MessageCollector, foggy_scene, push

# At 10 fps: a 0.2 s blip of fog (under the hold), a 2 s fog bank (one event), a 1 s fog bank inside
# the cool-down (no event), then a 2 s fog bank after the cool-down (one event).
FOG = "20-21,30-49,55-64,90-109"
FRAMES = 115
RULE = {"name": "fog", "measure": "uncertain_share", "map": "entropy", "level": 0.8, "threshold": 0.15,
        "hold": 0.5, "cooldown": 5.0}


def wait_for(predicate, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def test_fog_raises_one_event_per_crossing_everywhere(
    tiny_checkpoint: Path, mosquitto: Broker, webhook_receiver: Receiver, tmp_path: Path
) -> None:
    live = launch(
        tiny_checkpoint, fog_segmenter, mode="vqdnn", subscriber_queue=1024, mqtt_url=mosquitto.url,
        mqtt_topic="site/cams", webhook_hosts=f"http://127.0.0.1:{webhook_receiver.port}",
        webhooks=webhook_receiver.url, harvest_dir=str(tmp_path / "harvest"), harvest_interval=0.0,
    )
    watcher = MqttWatcher(mosquitto, "site/cams/#")
    try:
        video = foggy_scene(FOG, FRAMES)
        with live.client() as client:
            push(client, "cam-1", video, range(1))
            r = client.put("/v1/streams/cam-1/rules", json={"rules": [RULE]})
            assert r.status_code == 200, r.text
            assert r.json()["rules"][0]["name"] == "fog"
            with connect(f"{live.ws_url}/v1/streams/cam-1/subscribe", max_size=None) as ws:
                collector = MessageCollector(ws)
                try:
                    push(client, "cam-1", video, range(1, FRAMES))
                    assert wait_for(lambda: len(collector.events) >= 4)
                    time.sleep(0.5)  # nothing more may come
                    ws_events = list(collector.events)
                finally:
                    collector.close()
            metrics = client.get("/metrics").text
        kinds = [(e["event"], e["frame"]) for e in ws_events]
        assert [k for k, _ in kinds] == ["raised", "cleared", "raised", "cleared"], kinds
        # raised after the 0.5 s hold of the 3.0 s and 9.0 s banks; cleared when they lift
        assert 35 <= kinds[0][1] <= 37 and 95 <= kinds[2][1] <= 97, kinds
        assert 50 <= kinds[1][1] <= 52 and 110 <= kinds[3][1] <= 112, kinds
        for event in ws_events:
            assert event["stream"] == "cam-1" and event["rule"] == "fog"
            assert isinstance(event["time"], float) and isinstance(event["timestamp"], float)
        raised = [e for e in ws_events if e["event"] == "raised"]
        assert all(e["value"] > 0.15 for e in raised)
        ids = [e["id"] for e in ws_events]

        assert wait_for(lambda: len(watcher.messages) >= 4 and len(webhook_receiver.received) >= 4)
        time.sleep(0.5)
        assert [m["id"] for _, m in watcher.messages] == ids
        assert {topic for topic, _ in watcher.messages} == {"site/cams/cam-1/fog"}
        assert [m["id"] for m in webhook_receiver.received] == ids

        # each raised event names the harvested snapshot of its frame
        items = tmp_path / "harvest" / "items"
        for event in raised:
            assert wait_for(lambda e=event: (items / e["snapshot"] / "item.json").exists(), 30.0)
            meta = json.loads((items / event["snapshot"] / "item.json").read_text())
            assert meta["frame"] == event["frame"] and meta["stream"] == "cam-1"
        assert 'vqseg_events_total{kind="raised"} 2.0' in metrics
    finally:
        watcher.close()
        live.stop()
