"""Encoded frames (JPEG/PNG bytes) to RGB pixels, with every limit checked before the full decode.

Order: content type, byte size, format (magic bytes), declared pixel dimensions from the image header
(PNG ``IHDR`` / JPEG ``SOFn``), and only then ``cv2.imdecode``. A decompression bomb — a small file
that declares a huge image — is refused with 413 without allocating its pixels.

The work of one decode is bounded too, from the bytes alone: a JPEG's marker stream is walked and more
than ``MAX_JPEG_SCANS`` scans (a progressive "scan bomb": each scan is a pass over the whole image)
is refused with 413 before the decoder sees it; a PNG is decoded from its critical chunks only (IHDR,
PLTE, tRNS, IDAT, IEND), so compressed metadata (``zTXt``, ``iTXt``, ``iCCP``: each inflated by libpng
before the pixels) costs nothing.
"""

from __future__ import annotations

import re
import struct
import time
from dataclasses import dataclass

import cv2
import numpy as np

from server.errors import FrameTooLarge, ImageError, UnsupportedMediaType
from server.frame_budget import ByteBudget

ACCEPTED_TYPES = ("image/jpeg", "image/jpg", "image/png", "application/octet-stream")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
_OTHER_FORMATS = {b"GIF8": "GIF", b"BM": "BMP", b"RIFF": "WebP", b"II*\x00": "TIFF", b"MM\x00*": "TIFF"}
# SOF markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Progressive encoders write about 10 scans (libjpeg's default script), sequential ones 1 per component.
MAX_JPEG_SCANS = 32
# Inside entropy-coded data 0xFF is followed by 0x00 (stuffing) or a restart marker; anything else ends it.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_PNG_KEEP = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"eXIf"})


@dataclass(frozen=True)
class FrameLimits:
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class DecodedFrame:
    image: np.ndarray  # RGB uint8 (H, W, 3)
    decode_ms: float

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


def check_content_type(content_type: str | None) -> None:
    """415 unless the declared type is JPEG, PNG or raw bytes (multipart is handled by the caller)."""
    if not content_type:
        return  # sniffed from the bytes
    base = content_type.split(";", 1)[0].strip().lower()
    if base not in ACCEPTED_TYPES:
        raise UnsupportedMediaType(f"unsupported content type {base!r}; send image/jpeg or image/png")


def sniff_format(data: bytes) -> str:
    """``png`` or ``jpeg`` from the magic bytes; 415 for other image formats, 400 for anything else."""
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    for magic, name in _OTHER_FORMATS.items():
        if data.startswith(magic):
            raise UnsupportedMediaType(f"{name} images are not supported; send JPEG or PNG")
    raise ImageError("not a JPEG or PNG image" if data else "empty frame")


def declared_size(data: bytes, fmt: str) -> tuple[int, int]:
    """(width, height) as the header declares it, without decoding pixels."""
    if fmt == "png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ImageError("truncated PNG header")
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return _jpeg_size(data)


def _jpeg_size(data: bytes) -> tuple[int, int]:
    size, _ = jpeg_layout(data)
    return size


def jpeg_layout(data: bytes, max_scans: int = MAX_JPEG_SCANS) -> tuple[tuple[int, int], int]:
    """((width, height), scans) of a JPEG from its marker stream, without decoding.

    Walks every segment and skips each scan's entropy-coded data; refuses (413) a JPEG with more
    than ``max_scans`` scans as soon as it sees one too many.
    """
    pos, end = 2, len(data)
    size: tuple[int, int] | None = None
    scans = 0
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            raise ImageError("corrupt JPEG header")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # end of image
            break
        if marker in (0x01, *range(0xD0, 0xD8)):  # standalone markers
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2:
            break
        if marker in _SOF_MARKERS and size is None:
            if pos + 9 > end:
                break
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            size = (int(width), int(height))
        if marker == 0xDA:  # start of scan: its header, then entropy-coded data up to the next marker
            if size is None:
                break
            scans += 1
            if scans > max_scans:
                raise FrameTooLarge(f"JPEG has more than {max_scans} scans; each costs a pass over the whole image")
            found = _NEXT_MARKER.search(data, pos + 2 + length)
            if found is None:
                break
            pos = found.start()
            continue
        pos += 2 + length
    if size is None:
        raise ImageError("JPEG without a frame header")
    return size, scans


def png_critical(data: bytes) -> bytes:
    """The PNG with its ancillary chunks left out (what the decoder needs: IHDR PLTE tRNS IDAT IEND)."""
    parts = [PNG_MAGIC]
    pos, end = len(PNG_MAGIC), len(data)
    while pos + 8 <= end:
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        stop = pos + 12 + length
        if kind in _PNG_KEEP:
            parts.append(data[pos:stop])
        pos = stop
        if kind == b"IEND":
            break
    return b"".join(parts)


def check_frame(data: bytes, limits: FrameLimits) -> tuple[int, int]:
    """All checks before decoding; returns the declared (width, height)."""
    if len(data) > limits.max_bytes:
        raise FrameTooLarge(f"frame is {len(data)} bytes; the limit is {limits.max_bytes}")
    fmt = sniff_format(data)
    width, height = declared_size(data, fmt)
    if width <= 0 or height <= 0:
        raise ImageError(f"image declares an empty size {width}x{height}")
    if width * height > limits.max_pixels:
        raise FrameTooLarge(f"image is {width}x{height} pixels; the limit is {limits.max_pixels} pixels")
    return width, height


def decode_frame(data: bytes, limits: FrameLimits, budget: ByteBudget | None = None) -> DecodedFrame:
    """Validate, then decode with OpenCV to RGB uint8 (grey, RGBA and 16-bit inputs converted).

    A JPEG's EXIF orientation is applied (a phone's portrait photo comes out upright, its sides
    swapped against the header). With ``budget`` the frame's bytes are reserved before decoding
    (503 ``overloaded`` past it) and released when the returned pixel array is freed.
    """
    start = time.perf_counter()
    width, height = check_frame(data, limits)
    reserved = width * height * 3
    if budget is not None:
        budget.reserve(reserved)
    try:
        if data.startswith(PNG_MAGIC):
            data = png_critical(data)
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None or bgr.ndim != 3:
            raise ImageError("cannot decode image (corrupt or truncated)")
        if bgr.shape[:2] not in ((height, width), (width, height)):  # (width, height): EXIF rotated it
            raise ImageError(f"image header says {width}x{height} but the pixels are {bgr.shape[1]}x{bgr.shape[0]}")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr)  # in place: one copy of the pixels
    except BaseException:
        if budget is not None:
            budget.release(reserved)
        raise
    if budget is not None:
        budget.hold(rgb, reserved)
    return DecodedFrame(rgb, (time.perf_counter() - start) * 1000.0)
