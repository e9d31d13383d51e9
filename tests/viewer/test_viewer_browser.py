"""The web viewer in headless Chromium against a real `vqseg serve`: camera in, results drawn; watching.

Chromium's fake camera feeds the page (its built-in moving test card, or a synthetic street clip as
.y4m). Screenshots land in out/test-artifacts/ (viewer.png: the street clip, the docs' picture).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.viewer.conftest import LiveServer
from tests.viewer.pages import Viewer, open_viewer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(90)]


def viewer_url(server: LiveServer, **query: str) -> str:
    params = "&".join(f"{k}={v}" for k, v in {"key": server.key, **query}.items())
    return f"{server.url}/?{params}"


def test_camera_frames_come_back_and_are_drawn(server: LiveServer, browser: Any, artifacts: Path) -> None:
    viewer = open_viewer(browser, viewer_url(server, stream="fake-cam", width="320"))
    model = server.get("/v1/model")
    classes = len(model["classes"])
    viewer.page.wait_for_function("n => document.querySelectorAll('#legend li').length === n", arg=classes)
    assert viewer.legend() == model["classes"]
    blank = viewer.signature("overlay")
    assert viewer.text("fps") == "–"

    viewer.page.click("#camera-start")
    viewer.wait_for_frame(2)
    first = viewer.signature("overlay")
    frame = viewer.number("frame-index")
    viewer.wait_for_frame(frame + 3)
    second = viewer.signature("overlay")
    heat = viewer.signature("heat")

    assert first["hash"] != blank["hash"] and first["lit"] > 0.5, "the result was not drawn"
    assert second["hash"] != first["hash"], "the overlay did not change as new results came"
    assert (first["width"], first["height"]) == (320, 240)
    assert heat["hash"] != blank["hash"] and (heat["width"], heat["height"]) == (320, 240)
    # the fps counter refreshes on a timer over the last 2 s of arrivals: wait for it (slow machines)
    viewer.page.wait_for_function("Number(document.getElementById('fps').textContent) > 0")
    assert viewer.number("latency") > 0
    assert "held back" in viewer.text("dropped")
    info = server.get("/v1/streams/fake-cam")
    assert info["frames"] >= frame + 3 and info["connections"] == 1

    viewer.page.select_option("#mode", "dnn")  # a control message; the next results say dnn, 1 frame
    viewer.page.wait_for_function("document.getElementById('blend').textContent.startsWith('dnn · 1 frame')")
    viewer.page.select_option("#map", "mutual_info")  # asks the server for the map; drawn once it comes
    viewer.page.wait_for_function(
        "document.getElementById('map-name').textContent.startsWith('mutual information /')"
        " && !document.getElementById('map-name').textContent.includes('not sent')"
    )
    assert server.get("/v1/streams/fake-cam")["config"]["mode"] == "dnn"
    viewer.page.hover("#overlay")
    assert "entropy" in viewer.text("probe") and "mutual_info" in viewer.text("probe")
    viewer.page.screenshot(path=str(artifacts / "viewer-fake-camera.png"))

    viewer.page.click("#stop")
    viewer.page.wait_for_function("document.getElementById('stop').disabled")
    assert viewer.errors == [], viewer.errors
    viewer.page.close()


def test_street_clip_with_a_watcher(server: LiveServer, launch_chromium: Any, street_clip: Path,
                                    artifacts: Path) -> None:
    """One page streams a street clip as its camera; a second page watches that stream (subscribe)."""
    browser = launch_chromium(f"--use-file-for-fake-video-capture={street_clip}")
    sender = open_viewer(browser, viewer_url(server, stream="street", width="480"))
    sender.page.wait_for_selector("#legend li")
    sender.page.click("#camera-start")
    sender.wait_for_frame(1)

    watcher = open_viewer(browser, viewer_url(server, watch="street"))
    start = sender.number("frame-index")
    watcher.wait_for_frame(start + 2)
    watched = watcher.signature("overlay")
    assert (watched["width"], watched["height"]) == (480, 360) and watched["lit"] > 0.5, watched
    assert watcher.page.is_disabled("#mode"), "a watcher cannot change another client's settings"
    assert "watching street" in watcher.text("status"), watcher.text("status")
    assert "another client" in watcher.text("latency"), watcher.text("latency")
    info = server.get("/v1/streams/street")
    assert info["subscribers"] == 1, info
    restream = watcher.page.get_attribute("#watch-mjpeg", "href") or ""
    assert watcher.page.is_visible("#watch-mjpeg") and "/v1/streams/street/overlay.mjpg?heat=1" in restream

    sender.wait_for_frame(8)  # the ring buffer is full: the picture shows vqbnn at its steady state
    sender.page.wait_for_timeout(300)
    sender.page.screenshot(path=str(artifacts / "viewer.png"))
    watcher.page.screenshot(path=str(artifacts / "viewer-watcher.png"))
    shares = sender.page.locator("#legend .share").all_text_contents()
    assert any(share.endswith("%") for share in shares), shares
    assert sender.errors == [] and watcher.errors == [], (sender.errors, watcher.errors)
    watcher.page.close()
    sender.page.close()


def test_watch_a_stream_the_server_pulls(server: LiveServer, browser: Any) -> None:
    """`POST /v1/streams` with a synthetic source; the page is opened with ?watch= and draws it."""
    with server.client() as client:
        source = "synthetic:street?w=240&h=180&fps=8"
        response = client.post("/v1/streams", json={"stream_id": "pulled", "source": source})
        assert response.status_code == 201, response.text
    try:
        viewer = open_viewer(browser, viewer_url(server, watch="pulled"))
        viewer.wait_for_frame(3)
        drawn = viewer.signature("overlay")
        assert (drawn["width"], drawn["height"]) == (240, 180) and drawn["lit"] > 0.5
        assert "synthetic:street" in viewer.text("status")
        assert viewer.page.locator("#watch-list option", has_text="pulled").count() == 1
    finally:
        with server.client() as client:
            client.delete("/v1/streams/pulled")
    viewer.page.wait_for_function("/ended|closed/.test(document.getElementById('status').textContent)")
    assert viewer.errors == [], viewer.errors
    viewer.page.close()


def test_page_without_the_api_key_says_so(server: LiveServer, browser: Any) -> None:
    viewer = open_viewer(browser, f"{server.url}/")
    viewer.page.wait_for_function("document.getElementById('status').className === 'error'")
    assert "API key" in viewer.text("status")
    viewer.page.close()


def _png_b64(array: np.ndarray) -> str:
    ok, buf = cv2.imencode(".png", array)
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_decoder_is_exact(server: LiveServer, browser: Any, dtype: type) -> None:
    """png.js gives the same values as OpenCV, 16-bit included (an <img> would keep 8 bits)."""
    rng = np.random.default_rng(1)
    top = np.iinfo(dtype).max
    smooth = np.linspace(0, top, 37 * 53).reshape(37, 53)
    array = np.where(rng.random((37, 53)) < 0.3, rng.integers(0, top, (37, 53)), smooth).astype(dtype)
    page = open_viewer(browser, f"{server.url}/?key={server.key}").page
    decoded = page.evaluate(
        """async (b64) => {
          const png = await import("./png.js");
          const out = await png.decodeGreyPng(png.base64Bytes(b64));
          return {width: out.width, height: out.height, depth: out.depth, values: Array.from(out.data)};
        }""",
        _png_b64(array),
    )
    assert (decoded["width"], decoded["height"], decoded["depth"]) == (53, 37, 8 * array.itemsize)
    np.testing.assert_array_equal(np.array(decoded["values"]).reshape(37, 53), array)
    page.close()


def test_viewer_shows_no_result_before_start(server: LiveServer, browser: Any) -> None:
    viewer: Viewer = open_viewer(browser, viewer_url(server))
    viewer.page.wait_for_selector("#legend li")
    assert viewer.text("fps") == "–" and viewer.page.is_disabled("#stop")
    assert "ready" in viewer.text("status")
    viewer.page.close()
