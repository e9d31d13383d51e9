"""``/v1/streams/{id}/overlay.mjpg``: an annotated MJPEG restream behind the API key, read by ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import cv2
import pytest

from tests.server.conftest import ServerFactory

KEY = "overlay-key"
SCENE = "synthetic:street?w=160&h=120&fps=10&seed=3"


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_ffmpeg_reads_the_restream(start_server: ServerFactory, tmp_path: Path) -> None:
    live = start_server(api_key=KEY, max_overlay_viewers_per_stream=1)
    headers = {"X-API-Key": KEY}
    with live.client(headers=headers) as client:
        assert client.post("/v1/streams", json={"source": SCENE, "stream_id": "cam"}).status_code == 201
    url = f"{live.url}/v1/streams/cam/overlay.mjpg"
    with live.client() as anonymous:
        assert anonymous.get(url).status_code == 401
        assert anonymous.get(f"{live.url}/v1/streams/ghost/overlay.mjpg", headers=headers).status_code == 404

    out = tmp_path / "frame%02d.jpg"
    run = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-headers", f"X-API-Key: {KEY}\r\n", "-i", f"{url}?heat=1",
         "-frames:v", "3", "-y", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    pictures = sorted(tmp_path.glob("frame*.jpg"))
    assert len(pictures) == 3
    picture = cv2.imread(str(pictures[-1]))
    assert picture.shape == (120, 320, 3)  # overlay | heat map, each at the frame's size

    with live.client() as viewer_client, viewer_client.stream("GET", url, params={"key": KEY}) as first:
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("multipart/x-mixed-replace; boundary=")
        chunks = first.iter_bytes()  # kept: a dropped iterator closes the response
        head = next(chunks)
        assert head.startswith(b"--vqsegframe\r\nContent-Type: image/jpeg")
        with live.client(headers=headers) as second:  # one viewer per stream here
            r = second.get(url)
            assert r.status_code == 503 and r.json()["error"]["code"] == "overloaded"
    with live.client(headers=headers) as client:
        deadline = time.monotonic() + 30
        while "vqseg_overlay_viewers 0.0" not in client.get("/metrics").text:
            assert time.monotonic() < deadline, "the viewer was not released"
            time.sleep(0.1)
        assert client.delete("/v1/streams/cam").status_code == 204
