"""The frames every benchmark streams: the synthetic street scene, rendered once up front so that
drawing it costs nothing while the clock runs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import numpy as np

from vqseg_client.sources import SourceFrame, open_source

DEFAULT_SCENE = "synthetic:street?seed=7&w=480&h=360&fps=15"


def render_frames(uri: str, count: int) -> tuple[list[np.ndarray], float]:
    """The first ``count`` frames of ``uri`` (RGB uint8) and the source's frame rate."""
    with open_source(uri) as source:
        frames = [frame.image for frame in itertools.islice(source, count)]
        fps = source.fps or 15.0
    if not frames:
        raise ValueError(f"{uri} gave no frames")
    return frames, fps


def looped(frames: Sequence[np.ndarray], fps: float) -> Iterator[SourceFrame]:
    """The frames over and over as one endless video: timestamps keep rising at ``fps``."""
    for index in itertools.count():
        yield SourceFrame(frames[index % len(frames)], index / fps, index)
