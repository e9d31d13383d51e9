"""A single stream end to end in-process: frame -> one forward pass -> session blend -> maps.

The server batches many streams through a worker instead; this is what ``eval`` and local tools use.
"""

from __future__ import annotations

import numpy as np

from models import Segmenter
from streaming.inference import predict_batch
from streaming.modes import StreamConfig
from streaming.session import StreamSession
from streaming.uncertainty import UncertaintyMaps


class StreamPipeline:
    """Runs one stream's frames in order through ``segmenter`` and its own session."""

    def __init__(self, segmenter: Segmenter, config: StreamConfig, stream_id: str = "local") -> None:
        self.segmenter = segmenter
        self.session = StreamSession(
            stream_id, config, segmenter.meta.num_classes, segmenter.meta.input_size, segmenter.device
        )

    def process(self, image: np.ndarray, timestamp: float) -> UncertaintyMaps:
        """Maps for RGB ``image`` captured at ``timestamp`` seconds, at the network's resolution."""
        batch = self.segmenter.prepare([image])
        config = self.session.config
        prediction = predict_batch(self.segmenter, batch, config.mode, config.samples)
        member = None if prediction.member_entropy is None else prediction.member_entropy[0]
        return self.session.consume(prediction.probs[0], timestamp, member, image=image)

    def reset(self) -> None:
        self.session.reset()
