"""The streaming client for plain (non-async) code: a generator of results.

    from vqseg_client import stream_results
    for result in stream_results("video.mp4", server="ws://127.0.0.1:8000", stream_id="cam-1"):
        print(result.frame_index, result.latency_ms, result.labels.shape)

The asyncio client runs on a private event loop in a background thread; results reach the caller
through a small queue. Leaving the loop early (``break``) stops the stream and joins the thread with
a bounded wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from vqseg_client.client import StreamClient
from vqseg_client.result import FrameResult
from vqseg_client.sources import FrameSource, SourceFrame

_END = object()


def stream_results(
    source: FrameSource | str | Iterable[SourceFrame],
    *,
    client: StreamClient | None = None,
    pace: bool | None = None,
    max_frames: int | None = None,
    join_timeout: float = 10.0,
    **client_options: Any,
) -> Iterator[FrameResult]:
    """Stream ``source`` to the server and yield each ``FrameResult``.

    Give a ready ``client`` (to read ``client.stats`` / ``client.model`` afterwards) or the
    ``StreamClient`` keyword arguments (``server``, ``stream_id``, ``api_key``, ``params``, ...).
    Errors of the client (e.g. ``StreamClientError``) are raised here.
    """
    client = client or StreamClient(**client_options)
    results: queue.Queue[object] = queue.Queue(maxsize=4)
    stop = threading.Event()
    loop = asyncio.new_event_loop()
    task: list[asyncio.Task[None]] = []

    def put(item: object) -> None:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                results.put(item, timeout=0.2)
                return

    async def pump() -> None:
        try:
            async with contextlib.aclosing(client.stream(source, pace=pace, max_frames=max_frames)) as stream:
                async for result in stream:
                    await asyncio.to_thread(put, result)
                    if stop.is_set():
                        break
            put(_END)
        except asyncio.CancelledError:
            put(_END)
        except BaseException as exc:  # handed to the caller's thread
            put(exc)

    def main() -> None:
        task.append(loop.create_task(pump()))
        loop.run_until_complete(task[0])
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    thread = threading.Thread(target=main, name="vqseg-client-loop", daemon=True)
    thread.start()
    try:
        while True:
            item = results.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, FrameResult)
            yield item
    finally:
        stop.set()
        if task and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task[0].cancel)
        thread.join(join_timeout)
