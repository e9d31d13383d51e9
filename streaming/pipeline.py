"""A single stream end to end in-process, through the same engine the server runs.

``vqseg eval`` and ``vqseg bench`` run their frames this way (one frame per engine call); the
server's worker runs batches of many streams through the same ``InferenceEngine``.
"""

from __future__ import annotations

import numpy as np

from models import Segmenter
from streaming.engine import InferenceEngine, StreamFrame
from streaming.modes import StreamConfig
from streaming.session import StreamSession
from streaming.uncertainty import UncertaintyMaps


class StreamPipeline:
    """Runs one stream's frames in order through ``segmenter`` and its own session."""

    def __init__(
        self, segmenter: Segmenter, config: StreamConfig, stream_id: str = "local", mc_chunk: int = 8
    ) -> None:
        self.engine = InferenceEngine(segmenter, mc_chunk)
        self.session = StreamSession(
            stream_id, config, segmenter.meta.num_classes, segmenter.meta.input_size, segmenter.device
        )

    @property
    def segmenter(self) -> Segmenter:
        return self.engine.segmenter

    def process(self, image: np.ndarray, timestamp: float) -> UncertaintyMaps:
        """Maps for RGB ``image`` captured at ``timestamp`` seconds, at the network's resolution."""
        return self.engine.run(StreamFrame(image, timestamp, self.session)).maps

    def reset(self) -> None:
        self.session.reset()
