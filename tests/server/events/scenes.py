"""Frames of a synthetic street that turns foggy on a schedule, pushed to a server over REST with
their scene timestamps (so hold times and cool-downs are exact whatever the machine's speed)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

import cv2
import httpx
from websockets.sync.client import ClientConnection

from synthetic import StreetSceneVideo
from synthetic.scene import SceneConfig

JPEG = {"Content-Type": "image/jpeg"}
FPS = 10.0


def foggy_scene(fog_frames: str, frames: int, seed: int = 5) -> StreetSceneVideo:
    return StreetSceneVideo(SceneConfig(seed=seed, width=96, height=72, fps=FPS, scenario="static",
                                        corruption="fog", severity=0.9, num_frames=frames,
                                        corrupt_frames=fog_frames))


def jpeg(image: Any) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return data.tobytes()


def push(client: httpx.Client, stream_id: str, video: StreetSceneVideo, indices: Iterable[int]) -> None:
    for i in indices:
        frame = video.frame(i)
        response = client.post(f"/v1/streams/{stream_id}/frames", content=jpeg(frame.image), headers=JPEG,
                               params={"timestamp": frame.timestamp})
        assert response.status_code == 200, response.text


class MessageCollector:
    """Reads a WebSocket in a thread (so its queue never overflows) and keeps the event messages."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.results = 0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for text in self.ws:
                message = json.loads(text)
                if message.get("type") == "event":
                    self.events.append(message)
                elif message.get("type") == "result":
                    self.results += 1
        except Exception:  # closed
            return

    def close(self) -> None:
        self.ws.close()
        self._thread.join(10)
