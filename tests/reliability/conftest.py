"""Fixtures for the reliability tests: the server tests' tiny checkpoint and launcher, and a server
with a *sentinel* stream whose state must survive whatever the fuzzers throw at its neighbours."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import LiveServer, launch, make_frame, start_server, tiny_checkpoint, tiny_loader

__all__ = ["start_server", "tiny_checkpoint", "tiny_loader"]  # fixtures re-used from tests/server

JPEG = {"Content-Type": "image/jpeg"}
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
FUZZ_SETTINGS: dict[str, Any] = {"max_frame_bytes": 200_000, "max_frame_pixels": 300 * 300, "max_streams": 512}
ERROR_CODES = {"bad_image", "unauthorized", "forbidden", "unknown_stream", "not_found", "method_not_allowed",
               "stream_exists", "bad_source", "frame_too_large", "unsupported_media_type", "invalid_parameters",
               "too_many_streams", "overloaded", "not_ready", "malformed_message", "body_too_large",
               "bad_host"}  # never model_error / internal


@dataclass
class Sentinel:
    """A stream fed a few frames before the fuzzing; ``check`` proves the fuzzing left it alone."""

    live: LiveServer
    stream_id: str = "sentinel"
    frames: int = 4
    timestamp: float = 1000.0

    def feed(self) -> dict[str, Any]:
        with self.live.client() as client:
            r = client.post(f"/v1/streams/{self.stream_id}/frames", content=make_frame(7), headers=JPEG,
                            params={"timestamp": self.timestamp, "window": 6})
        assert r.status_code == 200, r.text
        self.timestamp += 0.05
        return dict(r.json())

    def check(self) -> None:
        """The server is up, the sentinel kept its frames and buffer, and the next frame continues it."""
        with self.live.client() as client:
            assert client.get("/healthz").status_code == 200
            info = client.get(f"/v1/streams/{self.stream_id}").json()
        assert (info["frames"], info["buffer_len"], info["resets"]) == (self.frames, min(self.frames, 6), 0), info
        result = self.feed()
        self.frames += 1
        assert result["frame_index"] == self.frames - 1 and result["buffer_len"] == min(self.frames, 6)


@pytest.fixture(scope="module")
def fuzz_server(tiny_checkpoint: Path) -> Iterator[LiveServer]:
    live = launch(tiny_checkpoint, **FUZZ_SETTINGS)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def sentinel(fuzz_server: LiveServer) -> Sentinel:
    guard = Sentinel(fuzz_server)
    for _ in range(guard.frames):
        guard.feed()
    return guard
