"""Stream state and the VQ-BNN blend: the inference engine, ring buffers, temporal importance,
uncertainty, sessions. (Frame sources are the client SDK's: ``vqseg_client.sources``.)"""

from streaming.engine import BatchPrediction, InferenceEngine, McAccumulator, StreamFrame, predict_batch
from streaming.errors import (
    MissingImageError,
    StreamingError,
    TooManyStreamsError,
    UnknownStreamError,
)
from streaming.importance import Clock, Importance
from streaming.modes import Mode, StreamConfig, parse_mode, stream_options
from streaming.motion import MotionOptions, MotionSmoother
from streaming.options import StreamOption
from streaming.pipeline import StreamPipeline
from streaming.session import StreamSession
from streaming.smoothing import TemporalSmoother
from streaming.spatial import GaussianBlur
from streaming.stream_ids import STREAM_ID_PATTERN, validate_stream_id
from streaming.uncertainty import MAP_NAMES, UncertaintyMaps, entropy, single_maps, uncertainty_maps
from streaming.variants import apply_variant, parse_variants, resolve_variant, variant_name

__all__ = [
    "MAP_NAMES",
    "STREAM_ID_PATTERN",
    "BatchPrediction",
    "Clock",
    "GaussianBlur",
    "Importance",
    "InferenceEngine",
    "McAccumulator",
    "MissingImageError",
    "Mode",
    "MotionOptions",
    "MotionSmoother",
    "StreamConfig",
    "StreamFrame",
    "StreamOption",
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
    "single_maps",
    "stream_options",
    "uncertainty_maps",
    "validate_stream_id",
    "variant_name",
]
