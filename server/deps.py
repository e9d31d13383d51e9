"""FastAPI dependencies: the runtime, the API key, readiness, and the stream a path names."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from server.auth import check_key, presented_key
from server.runtime import Runtime
from server.streams import StreamEntry
from streaming import STREAM_ID_PATTERN


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def api_key_owner(request: Request, runtime: RuntimeDep) -> int | None:
    """401 unless the request carries a configured key (when keys are configured)."""
    return check_key(runtime.keys, presented_key(request.headers))


KeyOwner = Annotated[int | None, Depends(api_key_owner)]


def ready_runtime(runtime: RuntimeDep) -> Runtime:
    runtime.require_ready()
    return runtime


ReadyRuntime = Annotated[Runtime, Depends(ready_runtime)]

StreamId = Annotated[
    str,
    Path(
        min_length=1, max_length=128, pattern=STREAM_ID_PATTERN.pattern,
        description="1-128 characters of A-Z a-z 0-9 . _ -",
    ),
]


def existing_stream(stream_id: StreamId, runtime: ReadyRuntime, _owner: KeyOwner) -> StreamEntry:
    """The stream the path names; 404 ``unknown_stream`` otherwise. The key is checked first, so
    that without a valid key an existing and a missing stream both answer 401 (no existence oracle)."""
    return runtime.directory.get(stream_id)


ExistingStream = Annotated[StreamEntry, Depends(existing_stream)]
