"""A processed frame as an HTTP response: the result JSON, the overlay PNG for ``format=png``, or the
protocol-2 binary result frame for ``format=binary``."""

from __future__ import annotations

from fastapi import Response

from server.errors import NotReady
from server.jobs import FrameResult


def result_response(result: FrameResult | None) -> Response:
    if result is None:  # only droppable frames are ever dropped; REST frames are not
        raise NotReady("the frame was superseded before it ran")
    if result.png is not None:
        return Response(result.png, media_type="image/png")
    if result.data is not None:
        return Response(result.data, media_type="application/vnd.vqseg.result")
    assert result.text is not None
    return Response(result.text, media_type="application/json")
