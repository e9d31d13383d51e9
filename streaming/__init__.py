"""Stream state and the VQ-BNN blend: ring buffers, temporal importance, uncertainty, sessions, sources."""

from streaming.errors import (
    MissingImageError,
    SourceError,
    StreamingError,
    TooManyStreamsError,
    UnknownStreamError,
)
from streaming.importance import Clock, Importance
from streaming.inference import BatchPrediction, predict_batch
from streaming.modes import Mode, StreamConfig, parse_mode
from streaming.motion import MotionOptions, MotionSmoother
from streaming.pipeline import StreamPipeline
from streaming.registry import STREAM_ID_PATTERN, SessionRegistry, validate_stream_id
from streaming.session import StreamSession
from streaming.smoothing import TemporalSmoother
from streaming.spatial import GaussianBlur
from streaming.uncertainty import MAP_NAMES, UncertaintyMaps, entropy, uncertainty_maps
from streaming.variants import apply_variant, parse_variants, resolve_variant, variant_name

__all__ = [
    "MAP_NAMES",
    "STREAM_ID_PATTERN",
    "BatchPrediction",
    "Clock",
    "GaussianBlur",
    "Importance",
    "MissingImageError",
    "Mode",
    "MotionOptions",
    "MotionSmoother",
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
    "apply_variant",
    "entropy",
    "parse_mode",
    "parse_variants",
    "predict_batch",
    "resolve_variant",
    "uncertainty_maps",
    "validate_stream_id",
    "variant_name",
]
