"""A foreign network's raw output to the class probabilities every ``Segmenter`` returns.

Logits or probabilities, NCHW or NHWC, at the input resolution or coarser (SegFormer's 1/4): the
softmax (or the temperature on given probabilities) is taken at the network's resolution, then the
probabilities are upsampled bilinearly to ``meta.input_size`` (a convex combination of distributions
is a distribution).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F


class OutputMismatch(ValueError):
    """A network's output does not fit what its description says (class count, layout, size)."""


def check_output_shape(
    shape: Sequence[int | str | None], classes: int, layout: str, input_size: tuple[int, int], source: str
) -> None:
    """Raise naming the mismatch when a (possibly partly symbolic) output shape cannot be ``classes``
    scores per pixel in ``layout`` at or below ``input_size``."""
    if len(shape) != 4:
        raise OutputMismatch(
            f"{source}: the output has shape {list(shape)}, not 4 dimensions ({layout}, one score per class and pixel)"
        )
    channel, spatial = (shape[1], shape[2:]) if layout == "NCHW" else (shape[3], shape[1:3])
    if isinstance(channel, int) and channel != classes:
        hint = " (is the layout NHWC?)" if layout == "NCHW" and shape[3] == classes else ""
        raise OutputMismatch(
            f"{source}: the model outputs {channel} classes per pixel but the description names {classes}{hint}"
        )
    for got, limit, what in zip(spatial, input_size, ("height", "width"), strict=True):
        if isinstance(got, int) and got > limit:
            raise OutputMismatch(f"{source}: output {what} {got} is larger than the input {what} {limit}")


def to_probabilities(
    raw: torch.Tensor, output: str, layout: str, size: tuple[int, int], temperature: float = 1.0
) -> torch.Tensor:
    """``(B, C, *size)`` float32 probabilities from logits or probabilities in ``layout``."""
    if layout == "NHWC":
        raw = raw.permute(0, 3, 1, 2)
    raw = raw.float()
    if output == "logits":
        probs = torch.softmax(raw / temperature if temperature != 1.0 else raw, dim=1)
    else:
        floor = torch.finfo(torch.float32).tiny
        probs = raw.clamp_min(0.0)
        probs = probs / probs.sum(dim=1, keepdim=True).clamp_min(floor)
        if temperature != 1.0:
            probs = torch.softmax(probs.clamp_min(floor).log() / temperature, dim=1)
    if tuple(probs.shape[-2:]) != tuple(size):
        probs = F.interpolate(probs, size=size, mode="bilinear", align_corners=False)
    return probs.contiguous()
