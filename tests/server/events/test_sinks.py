"""A slow or dead sink never holds up inference: its queue is bounded, its losses are counted, and other
streams' frames keep being served. Rules can also be set by the pushing WebSocket client."""

from __future__ import annotations

import re
import threading

import pytest
from websockets.sync.client import connect

from tests.server.conftest import ServerFactory
from tests.server.events.conftest import Receiver, free_port
from tests.server.events.fog_model import fog_segmenter
from tests.server.events.scenes import foggy_scene, jpeg, push
from tests.server.test_ws import recv_json, recv_type

FLICKER = ",".join(str(i) for i in range(1, 40, 2))  # fog on every other frame: an event per frame
RULE = {"name": "flicker", "level": 0.8, "threshold": 0.15, "hold": 0.0, "cooldown": 0.0}


def metric(text: str, name: str, sink: str) -> float:
    match = re.search(rf'^{name}\{{sink="{sink}"\}} ([0-9.e+]+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def test_stalled_sinks_drop_events_and_other_streams_keep_going(
    start_server: ServerFactory, webhook_receiver: Receiver
) -> None:
    webhook_receiver.delay = 3.0  # a receiver that hangs on every request
    dead_broker = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there
    live = start_server(
        fog_segmenter, mode="dnn", event_queue=2, webhook_retries=0, webhook_timeout=10.0,
        webhook_hosts=f"http://127.0.0.1:{webhook_receiver.port}", webhooks=webhook_receiver.url,
        mqtt_url=dead_broker,
    )
    video = foggy_scene(FLICKER, 40)
    calm = foggy_scene("", 40, seed=6)
    with live.client() as client:
        push(client, "flicker", video, range(1))
        push(client, "calm", calm, range(1))
        assert client.put("/v1/streams/flicker/rules", json={"rules": [RULE]}).status_code == 200
        errors: list[BaseException] = []

        def other_stream() -> None:
            try:
                with live.client() as other:
                    push(other, "calm", calm, range(1, 40))
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=other_stream)
        thread.start()
        push(client, "flicker", video, range(1, 40))  # every frame answered while both sinks are stuck
        thread.join(120)
        assert not thread.is_alive() and not errors, errors
        streams = {s["stream_id"]: s for s in client.get("/v1/streams").json()["streams"]}
        assert streams["calm"]["frames"] == 40 and streams["flicker"]["frames"] == 40
        events = client.get("/v1/events", params={"stream": "flicker"}).json()["events"]
        assert len(events) >= 30  # the rule fired (raised/cleared) on almost every frame
        metrics = client.get("/metrics").text
    assert metric(metrics, "vqseg_event_sink_dropped_total", "webhook") > 0
    assert metric(metrics, "vqseg_event_sink_dropped_total", "mqtt") > 0
    assert metric(metrics, "vqseg_event_sink_sent_total", "websocket") >= 30


@pytest.mark.timeout(120)
def test_rules_over_the_pushing_websocket(start_server: ServerFactory) -> None:
    live = start_server(fog_segmenter, mode="dnn")
    video = foggy_scene("3-", 8)
    with connect(f"{live.ws_url}/v1/streams/ws-cam/ws", max_size=None) as ws:
        recv_type(ws, "hello")
        ws.send('{"type": "rules", "rules": [{"name": "fog", "level": 0.8, "threshold": 0.15, "foo": 1}]}')
        assert recv_type(ws, "error")["code"] == "invalid_parameters"
        ws.send('{"type": "rules", "rules": [{"name": "fog", "level": 0.8, "threshold": 0.15}]}')
        assert [r["name"] for r in recv_type(ws, "rules")["rules"]] == ["fog"]
        seen: list[dict[str, object]] = []
        for i in range(8):
            frame = video.frame(i)
            ws.send(f'{{"type": "frame", "timestamp": {frame.timestamp}}}')
            ws.send(jpeg(frame.image))
            while (message := recv_json(ws))["type"] != "result":
                seen.append(message)
        while not any(m["type"] == "event" for m in seen):
            seen.append(recv_json(ws))
    events = [m for m in seen if m["type"] == "event"]
    assert [(e["event"], e["rule"], e["stream"]) for e in events] == [("raised", "fog", "ws-cam")]
    assert events[0]["frame"] >= 3  # type: ignore[operator]
