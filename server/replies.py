"""A processed frame as an HTTP response: the result JSON, or the overlay PNG for ``format=png``."""

from __future__ import annotations

from fastapi import Response

from server.errors import NotReady
from server.jobs import FrameResult


def result_response(result: FrameResult | None) -> Response:
    if result is None:  # only droppable frames are ever dropped; REST frames are not
        raise NotReady("the frame was superseded before it ran")
    if result.png is not None:
        return Response(result.png, media_type="image/png")
    assert result.text is not None
    return Response(result.text, media_type="application/json")
