"""Helpers that read the viewer page: canvas pixels, stats counters, JavaScript errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

FRAME_TIMEOUT_MS = 20_000

# A coarse fingerprint of a canvas: its size, a hash over a grid of pixels, and how many differ from black.
_SIGNATURE_JS = """(id) => {
  const canvas = document.getElementById(id);
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let hash = 0, lit = 0, samples = 0;
  for (let i = 0; i < data.length; i += 4 * 37) {
    hash = (Math.imul(hash, 31) + data[i] + 3 * data[i + 1] + 7 * data[i + 2]) >>> 0;
    if (data[i] + data[i + 1] + data[i + 2] > 30) lit++;
    samples++;
  }
  return {width: canvas.width, height: canvas.height, hash, lit: lit / samples};
}"""


@dataclass
class Viewer:
    """A viewer page and the JavaScript errors it raised."""

    page: Any
    errors: list[str] = field(default_factory=list)

    def signature(self, canvas_id: str) -> dict[str, Any]:
        return self.page.evaluate(_SIGNATURE_JS, canvas_id)

    def text(self, element_id: str) -> str:
        return self.page.text_content(f"#{element_id}") or ""

    def number(self, element_id: str) -> float:
        match = re.search(r"-?\d+(\.\d+)?", self.text(element_id))
        return float(match.group()) if match else float("nan")

    def wait_for_frame(self, index: int, timeout_ms: int = FRAME_TIMEOUT_MS) -> None:
        """Until the page has drawn the result of processed frame `index` or a later one."""
        self.page.wait_for_function(
            "(n) => Number(document.getElementById('overlay').dataset.drawnFrame ?? -1) >= n",
            arg=index,
            timeout=timeout_ms,
        )

    def legend(self) -> list[str]:
        return self.page.locator("#legend li .name").all_text_contents()


def open_viewer(browser: Any, url: str) -> Viewer:
    page = browser.new_page(viewport={"width": 1400, "height": 760})
    viewer = Viewer(page)
    page.on("pageerror", lambda error: viewer.errors.append(str(error)))
    page.on("console", lambda msg: viewer.errors.append(msg.text) if msg.type == "error" else None)
    page.goto(url)
    return viewer
