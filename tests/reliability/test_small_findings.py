"""The small findings: no existence oracle, 422 instead of 500, EXIF orientation, and pulled-source
threads of deleted streams counted against ``max_streams`` while they end."""

from __future__ import annotations

import struct
import time

import cv2
import numpy as np
import pytest

from tests.reliability.test_pull_policy import Listener, listener, wait_no_ingest
from tests.server.conftest import ServerFactory, make_frame

__all__ = ["listener"]
JPEG = {"Content-Type": "image/jpeg"}


def test_without_the_key_existing_and_missing_streams_look_the_same(start_server: ServerFactory) -> None:
    live = start_server(api_key="k1")
    with live.client(headers={"X-API-Key": "k1"}) as owner:
        assert owner.post("/v1/streams/exists/frames", content=make_frame(), headers=JPEG).status_code == 200
    with live.client() as anyone, live.client(headers={"X-API-Key": "wrong"}) as wrong:
        for client in (anyone, wrong):
            for method in ("GET", "DELETE"):
                a = client.request(method, "/v1/streams/exists")
                b = client.request(method, "/v1/streams/missing")
                assert (a.status_code, a.json()) == (b.status_code, b.json()) and a.status_code == 401


@pytest.mark.parametrize("value", ["€€€", "\u00e9t\u00e9", "\ud7ff"])
def test_a_text_multipart_field_is_a_client_error(start_server: ServerFactory, value: str) -> None:
    live = start_server()
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"frame\"\r\n\r\n{value}\r\n--{boundary}--\r\n"
            .encode())
    with live.client() as client:
        multipart = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        r = client.post("/v1/segment", content=body, headers=multipart)
        assert 400 <= r.status_code < 500 and r.json()["error"]["code"] in ("bad_image", "unsupported_media_type")
        assert client.get("/healthz").status_code == 200


def _with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """``jpeg`` with an APP1 EXIF segment holding one IFD0 entry: Orientation (0x0112)."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + app1 + jpeg[2:]


def test_a_phone_jpeg_with_exif_orientation_is_served_upright(start_server: ServerFactory) -> None:
    live = start_server()
    image = np.zeros((60, 80, 3), np.uint8)
    image[:, :40] = 255  # left half white: after a 90 degree turn it is the top half
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    rotated = _with_exif_orientation(buf.tobytes(), 6)
    assert cv2.imdecode(np.frombuffer(rotated, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (80, 60)
    with live.client() as client:
        r = client.post("/v1/segment", content=rotated, headers=JPEG)
        assert r.status_code == 200, r.text
        assert (r.json()["width"], r.json()["height"]) == (60, 80)


def test_threads_of_deleted_pulled_streams_count_until_they_end(
    start_server: ServerFactory, listener: Listener
) -> None:
    live = start_server(pull_sources=f"rtsp://127.0.0.1:{listener.port}", pull_timeout=6.0, max_streams=1)
    source = f"rtsp://127.0.0.1:{listener.port}/silent"
    with live.client() as client:
        assert client.post("/v1/streams", json={"source": source, "stream_id": "a"}).status_code == 201
        assert listener.wait_for(1, 15.0)
        assert client.delete("/v1/streams/a").status_code == 204
        r = client.post("/v1/streams", json={"source": source, "stream_id": "b"})
        assert r.status_code == 503 and "still running or ending" in r.json()["error"]["message"]
        assert wait_no_ingest(20.0)
        time.sleep(0.1)
        assert client.post("/v1/streams", json={"source": source, "stream_id": "b"}).status_code == 201
