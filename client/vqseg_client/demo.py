"""The client half of ``vqseg demo``: stream a scene to a running server and write ``overlay.mp4``, a few
PNG stills and the run's figures. (``vqseg demo`` starts the server itself, then calls ``run_demo_client``.)"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vqseg_client.client import StreamClient
from vqseg_client.outputs import Outputs, stream_to_outputs
from vqseg_client.result import ClientStats
from vqseg_client.stream_command import reporter

DEFAULT_SOURCE = "synthetic:street?seed=7&w=480&h=360&fps=15"


def still_indices(frames: int, count: int) -> tuple[int, ...]:
    """``count`` frame indices spread over the run, the last one near its end."""
    if count <= 0 or frames <= 0:
        return ()
    return tuple(sorted({min(frames - 1, round(frames * (i + 1) / count) - 1) for i in range(count)}))


@dataclass
class DemoRun:
    client: StreamClient
    outputs: Outputs
    stats: ClientStats

    def summary(self, source: str, mode: str | None) -> dict[str, Any]:
        figures = self.stats.to_dict()
        return {
            "source": source,
            "model": self.client.model.get("name"),
            "device": self.client.model.get("device"),
            "mode": (self.client.hello or {}).get("config", {}).get("mode", mode),
            "frames": self.stats.results,
            "fps": figures["fps"],
            "latency_ms": figures["latency_ms"],
            "dropped": self.stats.dropped,
            "client": figures,
        }


def run_demo_client(ws_url: str, source: str, out: Path, frames: int, *, mode: str | None = None,
                    stills: int = 4, quiet: bool = False) -> DemoRun:
    """Stream ``frames`` frames of ``source`` to the server at ``ws_url``; panels into ``out``.
    Raises ``StreamClientError`` when the server refuses the stream."""
    client = StreamClient(ws_url, "demo", params={"mode": mode})
    outputs = Outputs(video=out / "overlay.mp4", stills_dir=out, stills=still_indices(frames, stills),
                      report=reporter(quiet))
    stats = asyncio.run(stream_to_outputs(client, source, outputs, max_frames=frames))
    return DemoRun(client, outputs, stats)
