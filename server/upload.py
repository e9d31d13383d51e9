"""Reading a frame from an HTTP request: raw ``image/*`` body or multipart field ``frame``, capped.

The byte limit is enforced while the body streams in (and from ``Content-Length`` before that), so
an oversized upload is refused with 413 without being buffered whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from server.decode import check_content_type
from server.errors import FrameTooLarge, ImageError, UnsupportedMediaType

MULTIPART_OVERHEAD = 64 * 1024
FRAME_FIELD = "frame"

# How the frame endpoints' request body looks in OpenAPI (the handlers read the raw body themselves).
FRAME_BODY_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {FRAME_FIELD: {"type": "string", "format": "binary"}},
                           "required": [FRAME_FIELD]}
            },
        },
    }
}


async def read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise FrameTooLarge(f"request body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise FrameTooLarge(f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_frame(request: Request, max_bytes: int) -> bytes:
    """The encoded frame of a request (content type checked; size capped at ``max_bytes``)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        check_content_type(content_type)
        return await read_capped(request, max_bytes)
    body = await read_capped(request, max_bytes + MULTIPART_OVERHEAD)

    async def once() -> AsyncIterator[bytes]:
        yield body

    parser = MultiPartParser(request.headers, once(), max_files=4, max_fields=16, max_part_size=max_bytes)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ImageError(f"malformed multipart body: {exc.message}") from None
    part = form.get(FRAME_FIELD)
    if part is None:
        raise UnsupportedMediaType(f"multipart body without a {FRAME_FIELD!r} field")
    if isinstance(part, UploadFile):
        check_content_type(part.content_type)
        data = await part.read()
        await form.close()
    else:  # a text field: only bytes that survive latin-1 can be an image
        try:
            data = part.encode("latin-1")
        except UnicodeEncodeError:
            raise ImageError(f"the {FRAME_FIELD!r} field is text, not an image: send it as a file") from None
    if len(data) > max_bytes:
        raise FrameTooLarge(f"frame is {len(data)} bytes; the limit is {max_bytes}")
    return data
