"""Fuzzing the image decode path (``server.decode``) with hypothesis: whatever the bytes, the answer
is a decoded RGB frame within the limits or one of the three client errors (400, 413, 415) — never
another exception — and a decompression bomb is refused from its header, before any pixel decoding."""

from __future__ import annotations

import struct
import zlib
from unittest import mock

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import decode
from server.decode import FrameLimits, decode_frame
from server.errors import FrameTooLarge, ImageError, UnsupportedMediaType
from tests.server.conftest import make_frame

LIMITS = FrameLimits(max_bytes=200_000, max_pixels=300 * 300)
CLIENT_ERRORS = (ImageError, FrameTooLarge, UnsupportedMediaType)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = [make_frame(0, (24, 32), ".jpg"), make_frame(1, (24, 32), ".png"), make_frame(2, (17, 9), ".jpg"),
         cv2.imencode(".png", np.zeros((5, 7), np.uint16))[1].tobytes(),
         cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()]


def outcome(data: bytes) -> str:
    """Decode ``data``; any exception that is not a documented client error fails the test."""
    try:
        frame = decode_frame(data, LIMITS)
    except CLIENT_ERRORS as exc:
        return exc.code
    assert frame.image.dtype == np.uint8 and frame.image.ndim == 3 and frame.image.shape[2] == 3
    assert 0 < frame.width * frame.height <= LIMITS.max_pixels
    return "ok"


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data: bytes) -> None:
    outcome(data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid JPEG/PNG, truncated, with bytes flipped, inserted or its header bytes overwritten."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["truncate", "flip", "insert", "header", "zero_tail"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if how == "truncate":
            del data[at:]
        elif how == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif how == "header" and len(data) > 4:
            pos = draw(st.integers(2, min(len(data) - 1, 40)))
            data[pos] = draw(st.integers(0, 255))
        elif how == "zero_tail":
            data[at:] = bytes(len(data) - at)
    return bytes(data)


@FUZZ
@given(mutated())
def test_truncated_and_corrupt_images(data: bytes) -> None:
    outcome(data)


def png_declaring(width: int, height: int, colour_type: int = 2, depth: int = 8) -> bytes:
    """A small PNG whose header declares ``width`` x ``height`` (its pixel data is a few bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return decode.PNG_MAGIC + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose SOF header is rewritten to declare ``width`` x ``height``."""
    data = bytearray(SEEDS[0])
    pos = data.index(b"\xff\xc0")
    data[pos + 5 : pos + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@FUZZ
@given(st.integers(1, 2**31 - 1), st.integers(1, 2**31 - 1), st.sampled_from(["png", "jpeg"]))
def test_decompression_bombs_are_refused_from_the_header(width: int, height: int, fmt: str) -> None:
    if fmt == "jpeg":
        width, height = min(width, 65535), min(height, 65535)
    data = png_declaring(width, height) if fmt == "png" else jpeg_declaring(width, height)
    if width * height <= LIMITS.max_pixels:
        outcome(data)  # small: decoded, or refused as corrupt (header and pixels disagree)
        return
    with mock.patch.object(decode.cv2, "imdecode", side_effect=AssertionError("decoded a bomb")), pytest.raises(
        FrameTooLarge
    ):
        decode_frame(data, LIMITS)


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"", "bad_image"), (png_declaring(0, 10), "bad_image"), (jpeg_declaring(10, 0), "bad_image"),
     (decode.PNG_MAGIC, "bad_image"), (b"\xff\xd8\xff", "bad_image"),
     (b"GIF89a" + bytes(20), "unsupported_media_type"), (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "unsupported_media_type"),
     (b"\xff\xd8\xff" + bytes(300_000), "frame_too_large")],
)
def test_zero_size_and_other_formats(data: bytes, code: str) -> None:
    assert outcome(data) == code
