"""The viewer's static files, without a browser: served by the app, relative URLs, the heat-map colours."""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from server.app import STATIC, create_app
from server.settings import Settings

FILES = ("index.html", "viewer.css", "viewer.js", "link.js", "camera.js", "picture.js", "png.js", "render.js",
         "wire.js")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    """The app without its lifespan: no model is loaded, static files are served all the same."""
    return create_app(Settings(device="cpu"))


def fetch(app: FastAPI, path: str) -> httpx.Response:
    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            return await client.get(path)

    return asyncio.run(get())


@pytest.mark.parametrize(
    ("path", "media_type"),
    [("/", "text/html"), ("/index.html", "text/html"), ("/viewer.js", "javascript"), ("/viewer.css", "text/css")],
)
def test_the_app_serves_the_viewer(app: FastAPI, path: str, media_type: str) -> None:
    response = fetch(app, path)
    assert response.status_code == 200
    assert media_type in response.headers["content-type"]  # module scripts need a JavaScript MIME type


def test_all_files_are_there() -> None:
    assert sorted(p.name for p in STATIC.iterdir() if p.is_file()) == sorted(FILES)


def test_page_urls_are_relative_and_exist() -> None:
    """Relative URLs only, so the page works behind a reverse proxy and from any host."""
    html = (STATIC / "index.html").read_text()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, "no links found"
    for url in urls:
        if url.startswith("data:"):
            continue
        assert not re.match(r"^(/|[a-z]+://)", url), f"{url} is not relative"
        assert (STATIC / url).is_file(), f"{url} is missing"


def test_module_imports_resolve() -> None:
    for script in STATIC.glob("*.js"):
        for target in re.findall(r'from "(\./[^"]+)"|import\("(\./[^"]+)"\)', script.read_text()):
            name = next(t for t in target if t)
            assert (script.parent / name).is_file(), f"{script.name} imports missing {name}"


def test_no_absolute_api_paths_in_scripts() -> None:
    """API and WebSocket URLs are built relative to the page (`new URL("v1/...", document.baseURI)`)."""
    for script in STATIC.glob("*.js"):
        text = script.read_text()
        assert not re.search(r'["`]/v1/', text), f"{script.name} uses an absolute /v1 path"
        assert "ws://" not in text.replace('"ws:"', ""), f"{script.name} hard-codes ws://"


def test_heat_map_colours_are_the_servers() -> None:
    """render.js carries OpenCV's COLORMAP_INFERNO, which streaming/render.py uses for heat maps."""
    text = (STATIC / "render.js").read_text()
    encoded = re.search(r'INFERNO_B64 =\s*"([A-Za-z0-9+/=]+)"', text)
    assert encoded, "INFERNO_B64 not found in render.js"
    lut = np.frombuffer(base64.b64decode(encoded.group(1)), np.uint8).reshape(256, 3)
    expected = cv2.applyColorMap(np.arange(256, dtype=np.uint8).reshape(1, -1), cv2.COLORMAP_INFERNO)[0, :, ::-1]
    np.testing.assert_array_equal(lut, expected)


def test_docs_screenshot_is_there() -> None:
    assert (Path(__file__).resolve().parents[2] / "docs" / "images" / "viewer.png").is_file()
