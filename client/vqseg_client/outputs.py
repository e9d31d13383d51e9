"""Where a client stream's results go: an overlay video, a window, PNG stills, a progress line.

``vqseg stream`` and ``vqseg demo`` both run ``stream_to_outputs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from vqseg_client.client import StreamClient
from vqseg_client.render import ResultPainter, VideoWriter, save_png, status_line
from vqseg_client.result import ClientStats, FrameResult

log = logging.getLogger(__name__)

WINDOW = "vqseg"


@dataclass
class Outputs:
    """``video``: MP4 of panels; ``show``: an OpenCV window (needs a GUI build of OpenCV);
    ``stills``: source frame indices to save as PNG panels into ``stills_dir`` (the first result at
    or after each index); ``report``: called with a progress line every ``report_every`` seconds."""

    video: Path | None = None
    show: bool = False
    stills_dir: Path | None = None
    stills: tuple[int, ...] = ()
    report: Callable[[str], None] | None = None
    report_every: float = 1.0
    saved: list[Path] = field(default_factory=list)


def gui_available() -> bool:
    """Whether ``cv2.imshow`` works here (opencv-python-headless has no GUI)."""
    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
        cv2.destroyWindow(WINDOW)
        return True
    except cv2.error:
        return False


class _Sink:
    """Paints each result once and sends the panel to the video, the window and the stills."""

    def __init__(self, outputs: Outputs, painter: ResultPainter, stats: ClientStats, fps: float) -> None:
        self.outputs = outputs
        self.painter = painter
        self.stats = stats
        self.writer = VideoWriter(outputs.video, fps) if outputs.video else None
        self.pending_stills = sorted(outputs.stills)
        self.quit = False

    def consume(self, result: FrameResult) -> None:
        index = result.source_index if result.source_index is not None else result.frame_index
        still = bool(self.pending_stills) and index >= self.pending_stills[0] and self.outputs.stills_dir is not None
        if self.writer is None and not self.outputs.show and not still:
            return
        text = status_line(self.stats.live_fps, result.latency_ms, result.dropped, index)
        panel = self.painter.panel(result, text)
        if self.writer is not None:
            self.writer.write(panel)
        if still and self.outputs.stills_dir is not None:
            while self.pending_stills and index >= self.pending_stills[0]:
                self.pending_stills.pop(0)
            path = self.outputs.stills_dir / f"frame_{index:05d}.png"
            save_png(path, panel)
            self.outputs.saved.append(path)
        if self.outputs.show:
            cv2.imshow(WINDOW, cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
            self.quit = (cv2.waitKey(1) & 0xFF) in (ord("q"), 27)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.outputs.show:
            with contextlib.suppress(cv2.error):
                cv2.destroyAllWindows()


async def stream_to_outputs(
    client: StreamClient,
    uri: str,
    outputs: Outputs,
    *,
    max_frames: int | None = None,
    pace: bool | None = None,
) -> ClientStats:
    """Stream the source at ``uri`` through ``client`` into ``outputs``; returns the client's figures."""
    if outputs.show and not gui_available():
        log.warning("no GUI in this OpenCV build (opencv-python-headless): --show is off; use --out")
        outputs.show = False
    sink: _Sink | None = None
    last_report = time.monotonic()
    try:
        async with contextlib.aclosing(client.stream(uri, pace=pace, max_frames=max_frames)) as results:
            async for result in results:
                if sink is None:
                    painter = ResultPainter(client.model)
                    sink = _Sink(outputs, painter, client.stats, client.source_fps or 15.0)
                await asyncio.to_thread(sink.consume, result)
                now = time.monotonic()
                if outputs.report is not None and now - last_report >= outputs.report_every:
                    last_report = now
                    outputs.report(progress_line(client.stats, result, max_frames))
                if sink.quit:
                    break
    finally:
        if sink is not None:
            sink.close()
    return client.stats


def progress_line(stats: ClientStats, result: FrameResult, total: int | None) -> str:
    of = f"/{total}" if total else ""
    p50 = stats.latency_ms(50)
    latency = "-" if np.isnan(p50) else f"{p50:.0f}"
    fps = stats.live_fps
    return (
        f"frames {stats.results}{of}  {'-' if np.isnan(fps) else f'{fps:.1f}'} fps  "
        f"latency {result.latency_ms or 0:.0f} ms (p50 {latency})  dropped {result.dropped}  "
        f"uncertainty {result.summary.get('mean_uncertainty', float('nan')):.3f}"
    )
