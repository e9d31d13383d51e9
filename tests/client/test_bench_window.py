"""A bench level's timed window: at least ``seconds``, and longer until every stream has results."""

import asyncio
import time

from benchmarks.server_bench import ServerBenchConfig, _Recorder, _timed_window


async def _results_later(recorder: _Recorder, delays: list[float]) -> None:
    for delay in delays:
        await asyncio.sleep(delay)
        recorder.events.append((time.monotonic(), 1.0, 0))


def test_the_window_waits_for_a_slow_stream_s_results_then_ends() -> None:
    async def scenario() -> tuple[float, float, list[_Recorder]]:
        fast, slow = _Recorder(), _Recorder()
        config = ServerBenchConfig(seconds=0.05, min_results=3, max_seconds=30.0)
        start = time.monotonic()
        feeders = [asyncio.create_task(_results_later(fast, [0.01] * 10)),
                   asyncio.create_task(_results_later(slow, [0.3, 0.3, 0.3]))]
        end = await _timed_window([fast, slow], config, start)
        await asyncio.gather(*feeders)
        return start, end, [fast, slow]

    start, end, (fast, slow) = asyncio.run(scenario())
    assert len(slow.window(start, end)) == 3  # the window grew until the slow stream had its 3 results
    assert end - start >= 0.9 and len(fast.window(start, end)) == 10


def test_the_window_is_bounded_and_a_failed_stream_does_not_hold_it() -> None:
    async def scenario(recorder: _Recorder, max_seconds: float) -> float:
        start = time.monotonic()
        return await _timed_window([recorder], ServerBenchConfig(seconds=0.05, max_seconds=max_seconds), start) - start

    failed = _Recorder(error="ConnectionClosed: gone")
    assert asyncio.run(scenario(failed, 30.0)) < 5.0  # an error ends the wait for that stream at once
    assert 0.25 <= asyncio.run(scenario(_Recorder(), 0.3)) < 5.0  # no results at all: ends at max_seconds
