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


def test_segment_bnn_multipart_and_maps(live: LiveServer) -> None:
    files = {"frame": ("f.png", make_frame(1, fmt=".png"), "image/png")}
    with live.client() as client:
        params = {"mode": "bnn", "samples": 4, "maps": "confidence,mutual_info"}
        r = client.post("/v1/segment", files=files, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "bnn"
    assert set(body["maps"]) == {"confidence", "mutual_info"}
    conf = decode_png(body["maps"]["confidence"])
    assert conf.dtype == np.uint16 and conf.shape == (60, 80) and conf.min() >= 65535 // 4 - 1  # max P >= 1/C


def test_segment_refuses_temporal_modes(live: LiveServer) -> None:
    with live.client() as client:
        r = client.post("/v1/segment", content=make_frame(), headers=JPEG, params={"mode": "vqbnn"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_parameters"


def test_format_png_is_an_overlay_for_people(live: LiveServer) -> None:
    import cv2

    with live.client() as client:
        r = client.post("/v1/streams/png-1/frames", content=make_frame(), headers=JPEG, params={"format": "png"})
        client.delete("/v1/streams/png-1")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    picture = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (60, 3 * 80, 3)


def test_stream_state_carries_over_between_calls(live: LiveServer) -> None:
    with live.client() as client:
        bodies = [
            client.post("/v1/streams/rest-a/frames", content=make_frame(i), headers=JPEG,
                        params={"timestamp": 10.0 + i / 15}).json()
            for i in range(8)
        ]
        info = client.get("/v1/streams/rest-a").json()
        client.delete("/v1/streams/rest-a")
    assert [b["frame_index"] for b in bodies] == list(range(8))
    assert [b["buffer_len"] for b in bodies] == [1, 2, 3, 4, 5, 6, 6, 6]  # K = 6
    assert all(b["stream_id"] == "rest-a" and b["mode"] == "vqbnn" for b in bodies)
    assert bodies[3]["timestamp"] == pytest.approx(10.0 + 3 / 15)
    assert info["frames"] == 8 and info["buffer_len"] == 6 and info["kind"] == "push"


def test_two_streams_stay_independent(live: LiveServer) -> None:
    with live.client() as client:
        for i in range(3):
            client.post("/v1/streams/ind-a/frames", content=make_frame(i), headers=JPEG)
        b = client.post("/v1/streams/ind-b/frames", content=make_frame(9), headers=JPEG,
                        params={"mode": "vqdnn", "window": 2}).json()
        a = client.post("/v1/streams/ind-a/frames", content=make_frame(3), headers=JPEG).json()
        b2 = client.post("/v1/streams/ind-b/frames", content=make_frame(9), headers=JPEG).json()
        b3 = client.post("/v1/streams/ind-b/frames", content=make_frame(9), headers=JPEG).json()
        a_info, b_info = client.get("/v1/streams/ind-a").json(), client.get("/v1/streams/ind-b").json()
        listed = {s["stream_id"] for s in client.get("/v1/streams").json()["streams"]}
        for sid in ("ind-a", "ind-b"):
            assert client.delete(f"/v1/streams/{sid}").status_code == 204
    assert (a["frame_index"], a["buffer_len"], a["mode"]) == (3, 4, "vqbnn")
    assert (b["frame_index"], b["buffer_len"], b["mode"]) == (0, 1, "vqdnn")
    assert (b2["buffer_len"], b3["buffer_len"], b3["mode"]) == (2, 2, "vqdnn")  # K = 2 for b only
    assert a_info["config"]["window"] == 6 and b_info["config"]["window"] == 2
    assert {"ind-a", "ind-b"} <= listed


def test_dnn_mode_is_deterministic_and_vqdnn_equals_it_on_a_still_frame(live: LiveServer) -> None:
    frame = make_frame(4)
    with live.client() as client:
        one = client.post("/v1/segment", content=frame, headers=JPEG).json()
        two = client.post("/v1/segment", content=frame, headers=JPEG).json()
        smooth = [client.post("/v1/streams/still/frames", content=frame, headers=JPEG,
                              params={"mode": "vqdnn", "timestamp": i * 0.05}).json() for i in range(3)]
        client.delete("/v1/streams/still")
    assert one["labels"] == two["labels"] and one["uncertainty"] == two["uncertainty"]
    # blending identical predictions changes nothing
    assert (decode_png(smooth[-1]["labels"]) == decode_png(one["labels"])).all()
    diff = np.abs(decode_png(smooth[-1]["uncertainty"]).astype(int) - decode_png(one["uncertainty"]).astype(int))
    assert diff.max() <= 2


def test_stream_resources_model_health_metrics_docs(live: LiveServer) -> None:
    with live.client() as client:
        model = client.get("/v1/model").json()
        assert model["num_classes"] == 4 and model["classes"] == ["road", "sky", "car", "tree"]
        assert model["input_size"] == [32, 48] and model["backend"] == "torch" and model["device"] == "cpu"
        assert model["dropout"] == 0.5 and model["defaults"]["window"] == 6
        assert model["defaults"]["tau"] == pytest.approx(1.25 / 15)
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}
        client.post("/v1/streams/metered/frames", content=make_frame(), headers=JPEG)
        text = client.get("/metrics").text
        assert client.get("/docs").status_code == 404  # off by default: it loads scripts from a CDN (VQSEG_DOCS)
        paths = client.get("/openapi.json").json()["paths"]
        client.delete("/v1/streams/metered")
    for name in ("vqseg_frames_total", "vqseg_stage_seconds_bucket", "vqseg_active_streams", "vqseg_queue_depth",
                 "vqseg_batch_size_bucket", "vqseg_dropped_frames", 'vqseg_stream_mean_uncertainty{stream="metered"}',
                 'vqseg_stream_low_confidence_share{stream="metered"}'):
        assert name in text, name
    assert {"/v1/segment", "/v1/streams/{stream_id}/frames", "/v1/streams", "/v1/model"} <= set(paths)


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "code"),
    [
        ("/v1/segment", {"content": b"definitely not an image", "headers": JPEG}, 400, "bad_image"),
        ("/v1/segment", {"content": b"", "headers": JPEG}, 400, "bad_image"),
        ("/v1/segment", {"content": make_frame()[:200], "headers": JPEG}, 400, "bad_image"),
        ("/v1/segment", {"content": b"GIF89a....", "headers": {"Content-Type": "image/gif"}}, 415,
         "unsupported_media_type"),
        ("/v1/segment", {"content": b"GIF89a....", "headers": {"Content-Type": "application/octet-stream"}}, 415,
         "unsupported_media_type"),
        ("/v1/segment", {"content": b"x" * 250_000, "headers": JPEG}, 413, "frame_too_large"),
        ("/v1/segment", {"content": make_frame(size=(400, 400)), "headers": JPEG}, 413, "frame_too_large"),
        ("/v1/segment", {"content": make_frame(), "headers": JPEG, "params": {"mode": "nope"}}, 422,
         "invalid_parameters"),
        ("/v1/segment", {"content": make_frame(), "headers": JPEG, "params": {"samples": 0, "mode": "bnn"}}, 422,
         "invalid_parameters"),
        ("/v1/streams/s1/frames", {"content": make_frame(), "headers": JPEG, "params": {"tau": -1}}, 422,
         "invalid_parameters"),
        ("/v1/streams/s1/frames", {"content": make_frame(), "headers": JPEG, "params": {"window": "many"}}, 422,
         "invalid_parameters"),
        ("/v1/streams/s1/frames", {"content": make_frame(), "headers": JPEG, "params": {"maps": "colour"}}, 422,
         "invalid_parameters"),
        ("/v1/streams/s1/frames", {"content": make_frame(), "headers": JPEG, "params": {"timestamp": "nan"}}, 422,
         "invalid_parameters"),
        ("/v1/streams/s1/frames", {"content": make_frame(), "headers": JPEG, "params": {"tau": "nan"}}, 422,
         "invalid_parameters"),
        ("/v1/streams/bad$id/frames", {"content": make_frame(), "headers": JPEG}, 422, "invalid_parameters"),
        ("/v1/streams/" + "x" * 129 + "/frames", {"content": make_frame(), "headers": JPEG}, 422,
         "invalid_parameters"),
        ("/v1/segment", {"files": {"other": ("f.jpg", make_frame(), "image/jpeg")}}, 415, "unsupported_media_type"),
    ],
)
def test_errors_are_json_with_a_code(live: LiveServer, path: str, kwargs: dict, status: int, code: str) -> None:
    with live.client() as client:
        r = client.post(path, **kwargs)
        assert r.status_code == status, r.text
        assert r.json()["error"]["code"] == code
        assert r.json()["error"]["message"]
        # the service goes on
        assert client.post("/v1/segment", content=make_frame(), headers=JPEG).status_code == 200


def test_decompression_bomb_is_refused_before_decoding(live: LiveServer) -> None:
    import struct
    import zlib

    # a valid PNG header declaring 20000 x 20000 pixels, with almost no data
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    idat = zlib.compress(b"\x00" * 1000)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    with live.client() as client:
        r = client.post("/v1/segment", content=bomb, headers={"Content-Type": "image/png"})
    assert r.status_code == 413 and "20000x20000" in r.json()["error"]["message"]


def test_unknown_streams_and_routes_404(live: LiveServer) -> None:
    with live.client() as client:
        for method, path in (("GET", "/v1/streams/nope"), ("DELETE", "/v1/streams/nope")):
            r = client.request(method, path)
            assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_stream"
        r = client.get("/v1/nothing-here")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_too_many_streams_is_503_and_others_go_on(start_server: ServerFactory) -> None:
    live = start_server(max_streams=2)
    with live.client() as client:
        assert client.post("/v1/streams/m1/frames", content=make_frame(), headers=JPEG).status_code == 200
        assert client.post("/v1/streams/m2/frames", content=make_frame(), headers=JPEG).status_code == 200
        r = client.post("/v1/streams/m3/frames", content=make_frame(), headers=JPEG)
        assert r.status_code == 503 and r.json()["error"]["code"] == "too_many_streams"
        assert "Retry-After" in r.headers
        assert client.post("/v1/streams/m1/frames", content=make_frame(), headers=JPEG).json()["frame_index"] == 1
        client.delete("/v1/streams/m2")
        assert client.post("/v1/streams/m3/frames", content=make_frame(), headers=JPEG).status_code == 200
