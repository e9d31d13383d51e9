"""The viewer with a model trained elsewhere: its own 19 Cityscapes classes in the legend, the modes it
cannot serve (no dropout) not selectable, the camera's frames segmented and drawn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.foreign.conftest import elsewhere  # noqa: F401  (the fixture that makes the models)
from tests.server.conftest import LiveServer, launch
from tests.viewer.pages import open_viewer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(150)]


@pytest.fixture(scope="module")
def lraspp_server(elsewhere, chromium_path: str) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]  # noqa: F811
    live = launch(elsewhere("lraspp_onnx"))
    yield live
    live.stop()


def test_nineteen_class_legend_and_modes_from_the_model(lraspp_server: LiveServer, browser: Any,
                                                        artifacts: Path) -> None:
    viewer = open_viewer(browser, f"{lraspp_server.url}/?stream=foreign-cam&width=320")
    with lraspp_server.client() as client:
        model = client.get("/v1/model").json()
    viewer.page.wait_for_function("document.querySelectorAll('#legend li').length === 19")
    assert viewer.legend() == model["classes"] and viewer.legend()[:2] == ["road", "sidewalk"]
    swatch = viewer.page.eval_on_selector("#legend li .swatch", "el => el.style.background")
    assert swatch == "rgb(128, 64, 128)"  # the preset's palette
    assert viewer.page.eval_on_selector("#legend", "el => el.classList.contains('many')")
    disabled = viewer.page.eval_on_selector_all("#mode option", "os => os.filter(o => o.disabled).map(o => o.value)")
    assert sorted(disabled) == ["bnn", "vqbnn"]
    assert viewer.page.input_value("#mode") == "vqdnn"  # the server's default for a model without dropout

    viewer.page.click("#camera-start")
    viewer.wait_for_frame(2)
    drawn = viewer.signature("overlay")
    assert drawn["lit"] > 0.5 and (drawn["width"], drawn["height"]) == (320, 240)
    assert viewer.text("blend").startswith("vqdnn")
    viewer.page.screenshot(path=str(artifacts / "viewer-foreign-19-classes.png"))
    viewer.page.click("#stop")
    assert viewer.errors == [], viewer.errors
    viewer.page.close()
