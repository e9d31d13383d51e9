"""What every frame source yields and how it is used."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import numpy as np


@dataclass(frozen=True)
class SourceFrame:
    """One frame: RGB uint8 ``H x W x 3`` with its capture time (seconds) and index in the source.

    ``labels`` is the exact label map where the source knows it (synthetic scenes), else None.
    ``after_gap`` is True on the first frame after a reconnect (the stream's buffer should restart).
    """

    image: np.ndarray
    timestamp: float
    index: int
    labels: np.ndarray | None = None
    after_gap: bool = False


class FrameSource(ABC):
    """An iterable of ``SourceFrame``; ``read()`` returns None at the end of a finite source."""

    uri: str
    fps: float | None = None
    live: bool = False
    frame_size: tuple[int, int] | None = None  # (width, height) when known before reading
    frame_cost: int = 0  # bytes one read allocates at its peak, when known (budgeted by servers)

    @abstractmethod
    def read(self) -> SourceFrame | None: ...

    def close(self) -> None:  # noqa: B027 - sources without resources need not override
        """Release the device/connection; reading after close returns None."""

    def stop(self) -> None:  # noqa: B027 - sources that never block need not override
        """Ask a ``read`` blocked in another thread to give up soon (thread-safe; the reader closes)."""

    def __iter__(self) -> Iterator[SourceFrame]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
