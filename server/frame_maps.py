"""A frame's result maps, made on the device at the size the client gets, then copied to the host once.

The maps are born at the network's output resolution. A client gets them there (protocol 2's
default: it upsamples for display), or at the frame's size when it asks (protocol 1 always does), but
never more than ``max_output_pixels``: a larger frame gets maps at the largest size within that budget,
with the frame's aspect ratio. Upsampling runs in bands of rows (``resample``), so memory stays bounded
whatever the size: labels are the argmax of the bilinearly upsampled probabilities (upsampling commutes
with averaging probabilities), maps are upsampled bilinearly.

On the device the labels (uint8), the maps (uint8, float16 or 16-bit) and two summary figures are
packed into ONE byte tensor laid out as the binary result frame's payload (``vqseg_client.wire``), so
the host gets everything in one copy (into reused pinned memory on CUDA) and protocol 2 sends those
bytes as they are.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from streaming import UncertaintyMaps
from vqseg_client.wire import layout

LOW_CONFIDENCE = 0.9
SUMMARY_BYTES = 8  # two float32 at the start of the packed tensor: mean uncertainty, low-confidence share
WHOLE_VALUES = 1 << 23  # up to this many upsampled values (32 MB at fp32) in one go; beyond it in bands
BAND_VALUES = 1 << 20  # values per row band of a banded upsampling (bounds its scratch memory)
SIZES = ("network", "frame")
MAP_DTYPES = ("float16", "uint8", "uint16")  # uint16: protocol 1's 16-bit PNGs


@dataclass(frozen=True)
class OutputSpec:
    """What one result needs: ``extra`` maps besides ``entropy``, their wire dtype, and the size
    (``network`` or ``frame``) bounded by ``max_pixels``."""

    extra: tuple[str, ...] = ()
    dtype: str = "uint16"
    size: str = "frame"
    max_pixels: int = 1920 * 1080

    @property
    def names(self) -> tuple[str, ...]:
        return ("entropy", *[m for m in self.extra if m != "entropy"])


def output_size(network: tuple[int, int], frame: tuple[int, int], spec: OutputSpec) -> tuple[int, int]:
    """(height, width) of the maps a client gets: the network's or the frame's, within ``max_pixels``
    (scaled down with the frame's aspect ratio when over it)."""
    height, width = frame if spec.size == "frame" else network
    if height * width <= spec.max_pixels:
        return height, width
    scale = math.sqrt(spec.max_pixels / (height * width))
    return max(1, math.floor(height * scale)), max(1, math.floor(width * scale))


@dataclass
class HostMaps:
    """Host arrays at the output size: ``labels`` uint8 (h, w); ``maps`` name -> (h, w) in the spec's dtype.
    ``entries``/``payload``: the wire layout and bytes of the arrays (``vqseg_client.wire``)."""

    labels: np.ndarray
    maps: dict[str, np.ndarray]
    mean_uncertainty: float
    low_confidence: float
    entries: list[dict[str, object]]
    payload: memoryview
    buffer_len: int = 1
    release: Callable[[], None] | None = None

    @property
    def uncertainty(self) -> np.ndarray:
        return self.maps["entropy"]

    def done(self) -> None:
        """The arrays are no longer needed (their pinned host buffer goes back to the pool)."""
        if self.release is not None:
            self.release()
            self.release = None


class HostStaging:
    """Host memory for the one device-to-host copy: on CUDA reused page-locked buffers (a pool per
    size, handed back by ``HostMaps.done``); on CPU the packed tensor itself (no copy at all)."""

    def __init__(self, device: torch.device, keep: int = 8) -> None:
        self.pinned = device.type == "cuda"
        self.device = device
        self.keep = keep
        self._free: dict[int, list[torch.Tensor]] = {}
        self._lock = threading.Lock()

    def to_host(self, packed: torch.Tensor) -> tuple[np.ndarray, Callable[[], None] | None]:
        if not self.pinned:
            return packed.numpy(), None
        size = packed.numel()
        with self._lock:
            free = self._free.get(size)
            buffer = free.pop() if free else None
        if buffer is None:
            buffer = torch.empty(size, dtype=torch.uint8, pin_memory=True)
        buffer.copy_(packed, non_blocking=True)
        torch.cuda.current_stream(self.device).synchronize()
        return buffer.numpy(), lambda: self._give_back(buffer)

    def _give_back(self, buffer: torch.Tensor) -> None:
        with self._lock:
            free = self._free.setdefault(buffer.numel(), [])
            if len(free) < self.keep:
                free.append(buffer)


def _taps(size_in: int, size_out: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PyTorch's bilinear (align_corners=False) source indices and weights along one axis."""
    scale = size_in / size_out
    src = ((torch.arange(size_out, device=device, dtype=torch.float32) + 0.5) * scale - 0.5).clamp_min(0.0)
    low = src.floor().to(torch.long).clamp_max(size_in - 1)
    high = (low + 1).clamp_max(size_in - 1)
    return low, high, src - low.to(torch.float32)


def resample(
    probs: torch.Tensor, values: torch.Tensor, size: tuple[int, int],
    write: Callable[[slice, torch.Tensor, torch.Tensor], None],
) -> None:
    """Bilinear resize of ``probs`` (C, h, w) and ``values`` (M, h, w) to ``size``, in one go when the
    result is small (``WHOLE_VALUES``), else a band of rows at a time (the same taps, bounded memory):
    ``write(rows, labels, maps)`` gets each band's argmax labels (b, W) and maps (M, b, W)."""
    height, width = size
    classes = probs.shape[0]
    source = torch.cat([probs.float(), values.float()])
    channels, _, w = source.shape
    if channels * height * width <= WHOLE_VALUES:  # small enough: PyTorch's bilinear kernel in one go
        both = F.interpolate(source[None], size=size, mode="bilinear", align_corners=False)[0]
        write(slice(0, height), both[:classes].max(dim=0).indices, both[classes:])
        return
    y0, y1, wy = _taps(probs.shape[-2], height, probs.device)
    rows = max(1, BAND_VALUES // (channels * width))
    for start in range(0, height, rows):
        band = slice(start, min(height, start + rows))
        # rows: gather the two source rows of each output row and mix them (whole rows: contiguous reads)
        vertical = torch.lerp(source.index_select(1, y0[band]), source.index_select(1, y1[band]),
                              wy[band].view(1, -1, 1))
        # columns: PyTorch's own 1-D linear resize, the same taps as its bilinear along that axis
        both = F.interpolate(vertical.view(1, -1, w), size=width, mode="linear", align_corners=False)
        both = both.view(channels, -1, width)
        # max(dim=0).indices, not argmax: on CPU argmax over a strided class axis is ~30x slower
        write(band, both[:classes].max(dim=0).indices, both[classes:])


def _quantise(values: torch.Tensor, dtype: str) -> torch.Tensor:
    """Maps in [0, 1] to their wire dtype, as a tensor whose bytes are the wire's (uint16: see below)."""
    if dtype == "float16":
        return values.to(torch.float16)
    if dtype == "uint8":
        return (values.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)
    # 16 bits as int16 (x - 32768), which every device supports; on the host x = bits ^ 0x8000
    return ((values.clamp(0.0, 1.0) * 65535.0).round().to(torch.int32) - 32768).to(torch.int16)


def _bytes(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.contiguous().view(-1).view(torch.uint8)


def maps_to_host(
    maps: UncertaintyMaps, frame: tuple[int, int], spec: OutputSpec, staging: HostStaging | None = None
) -> HostMaps:
    """``frame`` is the frame's (height, width). Everything but the final copy runs on the maps' device."""
    named = maps.named_maps()
    network = (int(maps.probs.shape[-2]), int(maps.probs.shape[-1]))
    height, width = output_size(network, frame, spec)
    wire_dtype = "uint16" if spec.dtype == "uint16" else spec.dtype
    entries, total = layout([("labels", "uint8", (height, width)),
                             *((name, wire_dtype, (height, width)) for name in spec.names)])
    device = maps.probs.device
    packed = torch.empty(SUMMARY_BYTES + total, dtype=torch.uint8, device=device)
    summary = torch.stack([named["entropy"].mean(), (maps.confidence < LOW_CONFIDENCE).float().mean()])
    packed[:SUMMARY_BYTES].copy_(_bytes(summary.float()))
    label_out = packed[SUMMARY_BYTES + entries[0]["offset"]:][: height * width].view(height, width)
    map_outs = [_map_view(packed, entry, height, width) for entry in entries[1:]]
    values = torch.stack([named[name].float() for name in spec.names])
    if (height, width) == network:
        label_out.copy_(maps.labels)
        for out, value in zip(map_outs, values, strict=True):
            out.copy_(_bytes(_quantise(value, spec.dtype)).view(height, -1))
    else:
        def write(rows: slice, labels: torch.Tensor, band: torch.Tensor) -> None:
            label_out[rows].copy_(labels)
            for out, value in zip(map_outs, band, strict=True):
                out[rows].copy_(_bytes(_quantise(value, spec.dtype)).view(value.shape[0], -1))

        resample(maps.probs, values, (height, width), write)
    host, release = (staging or HostStaging(device)).to_host(packed)
    mean_uncertainty, low_confidence = host[:SUMMARY_BYTES].view(np.float32).tolist()
    arrays = host[SUMMARY_BYTES:]
    return HostMaps(
        labels=arrays[entries[0]["offset"]:][: height * width].reshape(height, width),
        maps={entry["name"]: _host_map(arrays, entry, height, width) for entry in entries[1:]},
        mean_uncertainty=float(mean_uncertainty),
        low_confidence=float(low_confidence),
        entries=entries,
        payload=memoryview(arrays),
        release=release,
    )


def _map_view(packed: torch.Tensor, entry: dict[str, object], height: int, width: int) -> torch.Tensor:
    """The bytes of one map inside the packed tensor, as (height, width * itemsize)."""
    start = SUMMARY_BYTES + int(entry["offset"])  # type: ignore[call-overload]
    return packed[start: start + int(entry["nbytes"])].view(height, -1)  # type: ignore[call-overload]


def _host_map(arrays: np.ndarray, entry: dict[str, object], height: int, width: int) -> np.ndarray:
    start = int(entry["offset"])  # type: ignore[call-overload]
    raw = arrays[start: start + int(entry["nbytes"])]  # type: ignore[call-overload]
    if entry["dtype"] == "uint16":
        return (raw.view(np.uint16) ^ np.uint16(0x8000)).reshape(height, width)
    return raw.view(np.float16 if entry["dtype"] == "float16" else np.uint8).reshape(height, width)


def warm_up(maps: UncertaintyMaps, frame: tuple[int, int], names: Sequence[str]) -> None:
    """Run every code path once (same size, upsampled; each dtype) so the first frames are not slow."""
    for dtype in MAP_DTYPES:
        for size in SIZES:
            maps_to_host(maps, frame, OutputSpec(tuple(names), dtype, size)).done()
