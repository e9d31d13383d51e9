"""What one stream's configuration may cost: MC samples per frame and ring-buffer memory.

A stream's smoother holds ``window`` x (classes + 1) x h x w values at the network's resolution
(more with motion-aware smoothing); ``streaming.session.buffer_cost`` computes the exact bytes
without allocating. ``check`` refuses a configuration whose buffer exceeds
``max_stream_buffer_bytes`` (422) or would take all streams' buffers past ``max_buffer_bytes``
(503), and ``bnn`` with more samples than ``max_samples`` (422). It runs when a stream is created
or reconfigured (REST, WebSocket, pulled) and on the worker before a change is applied; a mode the
model cannot serve (MC without dropout, ``models.capabilities``) is refused there too (422).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from models.capabilities import Capabilities
from server.errors import InvalidParameters, Overloaded
from server.settings import MiB, Settings
from streaming import StreamConfig, StreamSession
from streaming.session import buffer_cost


class StreamBudget:
    """Made with the server's settings; ``bind`` gives it the model's shape once the model is loaded
    (before any stream exists) and the measure of all streams' buffers."""

    def __init__(self, settings: Settings) -> None:
        self.max_samples = settings.max_samples
        self.per_stream = settings.max_stream_buffer_bytes
        self.all_streams = settings.max_buffer_bytes
        self.num_classes = 0
        self.size = (0, 0)
        self.dtype = torch.float32
        self._total: Callable[[], int] = lambda: 0
        self._costs: dict[tuple[int, bool], int] = {}
        self.capabilities: Capabilities | None = None

    def bind(
        self, num_classes: int, size: tuple[int, int], device: torch.device, total: Callable[[], int],
        capabilities: Capabilities | None = None,
    ) -> None:
        self.capabilities = capabilities
        self.num_classes = num_classes
        self.size = size
        self.dtype = torch.float16 if device.type == "cuda" else torch.float32
        self._total = total
        self._costs.clear()

    def cost(self, config: StreamConfig) -> int:
        key = (config.window, config.motion)
        if key not in self._costs:
            self._costs[key] = buffer_cost(config, self.num_classes, self.size, self.dtype)
        return self._costs[key]

    def check(self, config: StreamConfig, session: StreamSession | None) -> None:
        """Raise when ``config`` replacing ``session``'s is over a limit (``session`` None: a stateless
        frame, which has no buffer)."""
        refusal = self.capabilities.refusal(config.mode.value) if self.capabilities is not None else None
        if refusal is not None:  # e.g. bnn on a network without dropout
            raise InvalidParameters(refusal)
        if config.mode.value == "bnn" and config.samples > self.max_samples:
            raise InvalidParameters(f"samples={config.samples} is above this server's max_samples ({self.max_samples})")
        if session is not None:
            self._check_buffer(config, session.buffer_bytes)

    def check_new(self, config: StreamConfig) -> None:
        """Raise when a new stream with ``config`` is over a limit."""
        self.check(config, None)
        self._check_buffer(config, 0)

    def _check_buffer(self, config: StreamConfig, current: int) -> None:
        cost = self.cost(config)
        if cost > self.per_stream:
            raise InvalidParameters(
                f"window={config.window}{' with motion' if config.motion else ''} needs {cost / MiB:.1f} MiB of "
                f"buffer per stream; this server allows {self.per_stream / MiB:.1f} MiB (max_stream_buffer_bytes)"
            )
        if self._total() - current + cost > self.all_streams:
            raise Overloaded(
                f"stream buffers would exceed {self.all_streams / MiB:.0f} MiB (max_buffer_bytes); retry later"
            )
