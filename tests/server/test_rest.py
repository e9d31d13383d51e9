"""REST end to end: a real uvicorn server, a real HTTP client, real OpenCV images."""

from __future__ import annotations

import numpy as np
import pytest

from tests.server.conftest import LiveServer, ServerFactory, decode_png, make_frame

JPEG = {"Content-Type": "image/jpeg"}


@pytest.fixture
def live(shared_server: LiveServer) -> LiveServer:
    return shared_server


def test_segment_returns_maps_at_frame_size(live: LiveServer) -> None:
    with live.client() as client:
        r = client.post("/v1/segment", content=make_frame(size=(60, 80)), headers=JPEG)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["protocol"] == 1 and body["mode"] == "dnn" and "stream_id" not in body
    assert (body["width"], body["height"], body["buffer_len"]) == (80, 60, 1)
    labels, unc = decode_png(body["labels"]), decode_png(body["uncertainty"])
    assert labels.shape == (60, 80) and labels.dtype == np.uint8 and labels.max() < 4
    assert unc.shape == (60, 80) and unc.dtype == np.uint16
    assert set(body["timing_ms"]) >= {"decode", "queue", "forward", "blend", "encode", "total"}
    assert 0.0 <= body["summary"]["mean_uncertainty"] <= 1.0
