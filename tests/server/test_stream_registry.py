"""The one stream registry (``server.streams.StreamDirectory``): it makes each stream's session, bounds
how many live at once, evicts idle push streams and sums their buffers."""

from __future__ import annotations

import pytest
import torch

from server.errors import InvalidParameters
from server.streams import SessionShape, StreamDirectory
from streaming import StreamConfig, TooManyStreamsError, UnknownStreamError


def directory(now: list[float]) -> StreamDirectory:
    shape = SessionShape(3, (2, 2), torch.device("cpu"))
    return StreamDirectory(shape, StreamConfig(window=2), max_streams=2, idle_timeout=10, clock=lambda: now[0])


def test_streams_are_bounded_evicted_when_idle_and_their_buffers_summed() -> None:
    now = [0.0]
    streams = directory(now)
    a, created = streams.open("a", "push", None)
    assert created and streams.open("a", "push", None) == (a, False)
    b, _ = streams.open("b", "push", None, {"window": 4})
    assert (a.session.config.window, b.session.config.window) == (2, 4)
    assert streams.buffer_bytes() == a.session.buffer_bytes + b.session.buffer_bytes > 0
    with pytest.raises(TooManyStreamsError):
        streams.open("c", "push", None)
    a.session.stats.last_seen = 0.0
    b.session.stats.last_seen = 8.0
    now[0] = 15.0
    assert streams.evict_idle() == ["a"] and streams.evicted == 1
    assert [e.stream_id for e in streams.entries()] == ["b"]
    with pytest.raises(UnknownStreamError):
        streams.get("a")
    streams.remove("b")
    assert len(streams) == 0 and streams.buffer_bytes() == 0


def test_a_stream_fed_by_an_open_socket_is_not_evicted() -> None:
    now = [0.0]
    streams = directory(now)
    entry, _ = streams.open("kept", "push", None)
    entry.connections.add(object())  # type: ignore[arg-type]
    entry.session.stats.last_seen = 0.0
    now[0] = 100.0
    assert streams.evict_idle() == [] and streams.find("kept") is entry


@pytest.mark.parametrize("bad", ["", "../x", "..", "x" * 129])
def test_bad_ids_are_422(bad: str) -> None:
    with pytest.raises(InvalidParameters):
        directory([0.0]).open(bad, "push", None)
