"""Stream state and the VQ-BNN blend: ring buffers, temporal importance, uncertainty, sessions, sources."""

from streaming.errors import SourceError, StreamingError, TooManyStreamsError, UnknownStreamError
from streaming.importance import Clock, Importance
from streaming.inference import BatchPrediction, predict_batch
from streaming.modes import Mode, StreamConfig, parse_mode
from streaming.pipeline import StreamPipeline
from streaming.registry import STREAM_ID_PATTERN, SessionRegistry, validate_stream_id
from streaming.session import StreamSession
from streaming.smoothing import TemporalSmoother
from streaming.uncertainty import MAP_NAMES, UncertaintyMaps, entropy, uncertainty_maps

__all__ = [
    "MAP_NAMES",
    "STREAM_ID_PATTERN",
    "BatchPrediction",
    "Clock",
    "Importance",
    "Mode",
    "SessionRegistry",
    "SourceError",
    "StreamConfig",
    "StreamPipeline",
    "StreamSession",
    "StreamingError",
    "TemporalSmoother",
    "TooManyStreamsError",
    "UncertaintyMaps",
    "UnknownStreamError",
    "entropy",
    "parse_mode",
    "predict_batch",
    "uncertainty_maps",
    "validate_stream_id",
]
