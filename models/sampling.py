"""Several MC-dropout samples of one batch: ``(B, M, C, h, w)`` probabilities.

A network whose dropout layers all sit in a cheap tail (``trunk``/``tail`` methods and
``cheap_tail`` true, e.g. ``BayesianUNet`` with ``dropout_placement`` ``tail`` or ``head``) runs its
deterministic trunk once per frame; only the sampled tail runs on the ``B·M`` repeated features, one
fresh mask per sample. Any other network (or a backend without ``predict_samples``) runs whole
passes on the batch repeated ``M`` times: the same distribution, at ``M`` times the cost.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def has_cheap_tail(model: nn.Module) -> bool:
    """Whether ``model`` can run its trunk once and only its (dropout-holding) tail per sample."""
    return bool(getattr(model, "cheap_tail", False)) and callable(getattr(model, "trunk", None))


def sampled_logits(model: nn.Module, batch: torch.Tensor, samples: int) -> torch.Tensor:
    """Logits of ``samples`` MC passes per frame, ``(B·M, C, h, w)`` frame-major (frame b's samples at
    ``b·M .. b·M+M-1``). Dropout must already be active; the trunk runs once when the model allows."""
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    if not has_cheap_tail(model):
        return model(batch.repeat_interleave(samples, dim=0))
    features = model.trunk(batch)  # type: ignore[operator]
    return model.tail(*(f.repeat_interleave(samples, dim=0) for f in features))  # type: ignore[operator]


def predict_samples(
    segmenter: object,
    batch: torch.Tensor,
    samples: int,
    temperature: float = 1.0,
    rate: float | None = None,
) -> torch.Tensor:
    """``(B, M, C, h, w)`` MC probabilities from any ``Segmenter``: its own ``predict_samples`` (the
    cheap path) when it has one, else ``M`` whole passes on the repeated batch through ``predict``."""
    own: Callable[..., torch.Tensor] | None = getattr(segmenter, "predict_samples", None)
    if own is not None:
        return own(batch, samples, temperature=temperature, rate=rate)
    b = batch.shape[0]
    stacked = batch.repeat_interleave(samples, dim=0) if samples > 1 else batch
    flat = segmenter.predict(stacked, mc=True, temperature=temperature, rate=rate)  # type: ignore[attr-defined]
    return flat.view(b, samples, *flat.shape[1:])
