"""The one inference engine (``InferenceEngine``) and the one MC accumulator (``McAccumulator``)."""

from streaming.engine.accumulator import BatchPrediction, McAccumulator, forward_samples, predict_batch
from streaming.engine.engine import InferenceEngine
from streaming.engine.frames import FrameOutput, FrameWork, StepResult, StreamFrame

__all__ = [
    "BatchPrediction",
    "FrameOutput",
    "FrameWork",
    "InferenceEngine",
    "McAccumulator",
    "StepResult",
    "StreamFrame",
    "forward_samples",
    "predict_batch",
]
