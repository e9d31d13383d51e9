"""The server's one settings object: env vars ``VQSEG_*``, an optional env file, and CLI overrides.

Nothing is read from the environment at import time: ``load_settings()`` builds a ``Settings`` when
the server starts (``VQSEG_ENV_FILE`` names an optional ``.env``-style file).
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, create_model, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from server.events.settings import EventSettings
from server.source_policy import SourcePolicy
from streaming import StreamConfig, stream_options

MiB = 1024 * 1024


def _stream_defaults_model() -> type[BaseModel]:
    """The per-stream options as settings fields (the defaults of new streams; ``VQSEG_TAU``...),
    derived from ``StreamConfig``'s declarations; values are checked by ``StreamConfig`` itself."""
    fields: dict[str, Any] = {
        o.name: ((o.kind | None) if o.optional else o.kind, Field(o.default, description=o.help))
        for o in stream_options()
    }
    return create_model("StreamDefaults", **fields)


class Settings(EventSettings, _stream_defaults_model()):  # type: ignore[misc]
    """Everything ``vqseg serve`` can be told; each field is also ``VQSEG_<NAME>`` (the event settings:
    ``server.events.settings``). The per-stream options (``mode``, ``tau``, ... :
    ``streaming.stream_options()``) come in as the defaults of new streams."""

    model_config = SettingsConfigDict(env_prefix="VQSEG_", extra="ignore", validate_default=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    model: str | None = Field(None, description="checkpoint (.pt) or ONNX file; None = the embedded default")
    backend: Literal["auto", "torch", "onnx", "openvino"] = Field(
        "auto", description="auto: the fastest runtime installed for the device (docs/onnx.md)"
    )
    device: str = "auto"
    threads: int = Field(0, ge=0, le=256, description="CPU threads of the inference runtime; 0 = torch's default")
    sidecar: str | None = Field(None, description="sidecar of a model trained elsewhere (default: MODEL.vqseg.yaml)")
    preset: str | None = Field(None, description="a foreign model's class set (camvid11, cityscapes19, ade20k150)")
    input_size: str | None = Field(None, description="HEIGHTxWIDTH a foreign model takes (if its file does not)")
    exit_on_error: bool = Field(True, description="a model that cannot load stops the server (else /readyz stays 503)")

    max_streams: int = Field(64, ge=1)
    max_streams_per_key: int = Field(0, ge=0, description="0 = no per-key limit")
    idle_timeout: float = Field(300.0, gt=0, description="seconds before an idle push stream is removed")
    max_frame_bytes: int = Field(16 * MiB, ge=1024)
    max_frame_pixels: int = Field(8192 * 8192, ge=64)
    max_batch: int = Field(8, ge=1, le=256)
    max_wait_ms: float = Field(5.0, ge=0, le=1000)
    queue_size: int = Field(64, ge=1, description="frames waiting for the worker, all streams together")
    decode_threads: int = Field(2, ge=1, le=64)
    encode_threads: int = Field(2, ge=1, le=64)
    max_output_pixels: int = Field(1920 * 1080, ge=64, description="result maps at most this many pixels "
                                   "(frame-size maps of larger frames are scaled down to it)")
    subscriber_queue: int = Field(8, ge=1, le=1024, description="results buffered per watcher")
    metrics_streams: int = Field(20, ge=0, description="streams with their own metrics label; the rest are 'other'")
    shutdown_timeout: float = Field(10.0, gt=0, description="seconds to finish in-flight frames on shutdown")

    api_key: SecretStr | None = Field(None, description="required X-API-Key; several keys: comma separated")
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "info"

    # ---- hardening (docs/reliability.md): sources, memory, compute, connections, browsers ----
    pull_sources: str = Field("synthetic", description="what POST /v1/streams may open: synthetic, webcam:N|*, "
                              "file:/dir, rtsp|rtsps|http|https://host|ip|net[:port] (comma separated)")
    pull_timeout: float = Field(10.0, gt=0, le=120, description="seconds to open a pulled source or read a frame")
    max_samples: int = Field(32, ge=1, le=256, description="most MC samples (bnn N) one frame may ask for")
    mc_chunk: int = Field(4, ge=1, le=256, description="MC passes a bnn frame runs before other streams get a turn")
    max_stream_buffer_bytes: int = Field(64 * MiB, ge=1024, description="one stream's ring buffer at most")
    max_buffer_bytes: int = Field(2048 * MiB, ge=1024, description="all streams' ring buffers together")
    max_decoded_bytes: int = Field(1024 * MiB, ge=MiB, description="decoded frames held in memory, all requests")
    max_rest_per_stream: int = Field(4, ge=1, le=1024, description="REST frame requests in flight per stream")
    max_connections: int = Field(512, ge=1, description="open TCP connections (HTTP and WebSocket) at most")
    max_ws_per_stream: int = Field(2, ge=1, le=1024, description="pushing WebSockets per stream")
    max_watchers_per_stream: int = Field(32, ge=1, description="subscribe WebSockets per stream")
    max_watchers: int = Field(256, ge=1, description="subscribe WebSockets, all streams")
    header_timeout: float = Field(10.0, gt=0, le=600, description="seconds for a request's headers to arrive")
    body_timeout: float = Field(60.0, gt=0, le=3600, description="seconds for a request's body to arrive")
    keepalive_timeout: float = Field(5.0, gt=0, le=600, description="idle seconds before a keep-alive closes")
    max_header_bytes: int = Field(64 * 1024, ge=4096, le=MiB, description="request line and headers at most")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _stream_defaults_valid(self) -> Settings:
        self.stream_defaults()  # raises ValueError on an inconsistent combination
        if "samples" not in self.model_fields_set:  # the default N follows a lower cap
            self.samples = min(self.samples, self.max_samples)
        if self.samples > self.max_samples:
            raise ValueError(f"samples ({self.samples}) is above max_samples ({self.max_samples})")
        self.source_policy()  # raises ValueError on a malformed pull_sources rule
        return self

    def source_policy(self) -> SourcePolicy:
        return SourcePolicy(self.pull_sources)

    def model_description(self) -> dict[str, str]:
        """Sidecar keys given as settings (``preset``, ``input_size``) for a model trained elsewhere."""
        return {k: v for k, v in (("preset", self.preset), ("input_size", self.input_size)) if v}

    def stream_defaults(self) -> StreamConfig:
        return StreamConfig(**{o.name: getattr(self, o.name) for o in stream_options()})

    def api_keys(self) -> list[str]:
        if self.api_key is None:
            return []
        return [k.strip() for k in self.api_key.get_secret_value().split(",") if k.strip()]


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and ``$VQSEG_ENV_FILE``), with ``overrides`` (CLI flags) on top."""
    given = {k: v for k, v in overrides.items() if v is not None}
    env_file = os.environ.get("VQSEG_ENV_FILE") or None
    return Settings(_env_file=env_file, **given)  # type: ignore[call-arg]
