"""Frame checks before decoding (type, bytes, header dimensions) and the decode itself."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from server.decode import FrameLimits, check_content_type, declared_size, decode_frame, sniff_format
from server.errors import FrameTooLarge, ImageError, UnsupportedMediaType

LIMITS = FrameLimits(max_bytes=1_000_000, max_pixels=500 * 500)
RGB = np.dstack([np.full((30, 40), v, np.uint8) for v in (200, 100, 50)])


def encode(image: np.ndarray, ext: str, params: list[int] | None = None) -> bytes:
    ok, buf = cv2.imencode(ext, image, params or [])
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (encode(RGB, ".jpg"), (40, 30)),
        (encode(RGB, ".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]), (40, 30)),
        (encode(RGB, ".png"), (40, 30)),
        (encode(RGB[..., 0], ".png"), (40, 30)),
        (encode(np.dstack([RGB, np.full((30, 40), 255, np.uint8)]), ".png"), (40, 30)),
        (encode((RGB.astype(np.uint16) * 257), ".png"), (40, 30)),
    ],
    ids=["jpeg", "progressive-jpeg", "png", "grey-png", "rgba-png", "16bit-png"],
)
def test_header_size_and_decode_to_rgb(data: bytes, size: tuple[int, int]) -> None:
    assert declared_size(data, sniff_format(data)) == size
    frame = decode_frame(data, LIMITS)
    assert frame.image.shape == (30, 40, 3) and frame.image.dtype == np.uint8
    pixel = frame.image[15, 20].astype(int)
    if pixel[0] != pixel[2]:  # colour input (OpenCV wrote BGR 200,100,50): decoded in RGB order
        assert np.abs(pixel - [50, 100, 200]).max() <= 3


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", ImageError),
        (b"hello", ImageError),
        (b"GIF89a" + b"\x00" * 20, UnsupportedMediaType),
        (b"BM" + b"\x00" * 20, UnsupportedMediaType),
        (encode(RGB, ".png")[:20], ImageError),
        (encode(RGB, ".jpg")[:100], ImageError),
        (encode(np.zeros((600, 600, 3), np.uint8), ".jpg"), FrameTooLarge),
        (b"\xff\xd8\xff" + b"\x00" * 1_000_001, FrameTooLarge),
    ],
)
def test_refused_before_or_at_decode(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_frame(data, LIMITS)


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [(None, True), ("image/jpeg", True), ("image/png; q=1", True), ("application/octet-stream", True),
     ("image/gif", False), ("text/plain", False), ("application/json", False)],
)
def test_content_types(content_type: str | None, ok: bool) -> None:
    if ok:
        check_content_type(content_type)
    else:
        with pytest.raises(UnsupportedMediaType):
            check_content_type(content_type)
