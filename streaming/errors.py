"""Domain errors of the streaming layer (the server maps them to HTTP statuses and close codes)."""


class StreamingError(Exception):
    """Base class of streaming errors."""


class UnknownStreamError(StreamingError, KeyError):
    """No session with that stream id."""

    def __str__(self) -> str:
        return f"unknown stream {self.args[0]!r}" if self.args else "unknown stream"


class TooManyStreamsError(StreamingError):
    """The session registry is full."""


class MissingImageError(StreamingError, ValueError):
    """Motion-aware smoothing was asked to blend a prediction without the frame it came from."""
