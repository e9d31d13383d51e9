"""The binary result frame of protocol version 2: a small JSON header, then raw arrays (no base64, no PNG).

Layout of one binary WebSocket message (docs/protocol.md, version 2)::

    bytes 0..3    b"VQS2"
    bytes 4..7    uint32 little-endian N: length of the header (a multiple of 8)
    bytes 8..8+N  UTF-8 JSON object (padded with spaces), the result's fields plus
                  "arrays": [{"name", "dtype", "shape", "offset", "nbytes"}, ...]
    bytes 8+N..   the arrays, C order, little-endian; "offset" counts from byte 8+N and is a multiple of 8

``dtype`` is ``uint8``, ``uint16`` or ``float16``. The same module packs (server) and unpacks (client).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

MAGIC = b"VQS2"
PROTOCOL_JSON = 1
PROTOCOL_BINARY = 2
ALIGN = 8
DTYPES = {"uint8": np.dtype("<u1"), "uint16": np.dtype("<u2"), "float16": np.dtype("<f2")}


def aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def layout(arrays: Iterable[tuple[str, str, tuple[int, ...]]]) -> tuple[list[dict[str, Any]], int]:
    """Offsets of named arrays ``(name, dtype, shape)`` packed back to back, each 8-aligned; and the total size."""
    entries, offset = [], 0
    for name, dtype, shape in arrays:
        nbytes = int(np.prod(shape)) * DTYPES[dtype].itemsize
        entries.append({"name": name, "dtype": dtype, "shape": list(shape), "offset": offset, "nbytes": nbytes})
        offset = aligned(offset + nbytes)
    return entries, offset


def pack_payload(header: Mapping[str, Any], entries: list[dict[str, Any]], payload: bytes | memoryview) -> bytes:
    """One message from the header fields, the array entries (``layout``) and the packed array bytes."""
    text = json.dumps({**header, "arrays": entries}, separators=(",", ":")).encode()
    text += b" " * (aligned(len(text)) - len(text))
    return b"".join((MAGIC, struct.pack("<I", len(text)), text, payload))


def pack(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> bytes:
    """A message from numpy arrays (for tests and small servers; ``vqseg serve`` packs on the device)."""
    names = {np.dtype(v): k for k, v in DTYPES.items()}
    entries, total = layout((name, names[a.dtype.newbyteorder("<")], a.shape) for name, a in arrays.items())
    payload = bytearray(total)
    for entry, array in zip(entries, arrays.values(), strict=True):
        raw = np.ascontiguousarray(array, DTYPES[entry["dtype"]]).tobytes()
        payload[entry["offset"]: entry["offset"] + len(raw)] = raw
    return pack_payload(header, entries, memoryview(payload))


def is_binary_result(data: bytes | bytearray | memoryview) -> bool:
    return len(data) >= 8 and bytes(data[:4]) == MAGIC


def unpack(data: bytes | bytearray | memoryview) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A binary message to its header (without ``arrays``) and read-only numpy views of its arrays."""
    view = memoryview(data).cast("B")
    if len(view) < 8 or bytes(view[:4]) != MAGIC:
        raise ValueError("not a vqseg binary result (no VQS2 magic)")
    (size,) = struct.unpack("<I", view[4:8])
    start = 8 + size
    if start > len(view):
        raise ValueError("truncated binary result header")
    header = json.loads(bytes(view[8:start]))
    arrays: dict[str, np.ndarray] = {}
    for entry in header.pop("arrays", []):
        dtype = DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"unknown array dtype {entry['dtype']!r}")
        shape = tuple(int(s) for s in entry["shape"])
        offset = start + int(entry["offset"])
        count = int(np.prod(shape))
        if offset + count * dtype.itemsize > len(view):
            raise ValueError(f"array {entry['name']!r} runs past the end of the message")
        arrays[entry["name"]] = np.frombuffer(view, dtype, count, offset).reshape(shape)
    return header, arrays
