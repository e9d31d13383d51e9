"""One frame batch through the network in a given mode: probabilities plus members' entropy."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from models import Segmenter
from streaming.modes import Mode
from streaming.uncertainty import entropy


@dataclass
class BatchPrediction:
    """``probs`` ``(B, C, h, w)`` on the device; ``member_entropy`` ``(B, h, w)`` is the mean entropy of
    the MC samples for ``bnn`` (None otherwise: a single pass's member entropy is its own entropy)."""

    probs: torch.Tensor
    member_entropy: torch.Tensor | None = None


def predict_batch(
    segmenter: Segmenter,
    batch: torch.Tensor,
    mode: Mode,
    samples: int = 30,
    sample_chunk: int = 8,
    temperature: float | None = None,
) -> BatchPrediction:
    """Run ``batch`` once (dnn/vqdnn/vqbnn) or ``samples`` times (bnn).

    Every forward pass divides its logits by the mode's temperature before the softmax, so the blend
    (vqdnn/vqbnn) and the MC mean (bnn) average calibrated passes: ``temperature``, or by default
    the one the model's metadata holds for ``mode`` (``vqseg calibrate``; 1 when it has none).

    For ``bnn`` the samples run ``sample_chunk`` at a time as one batch of ``chunk·B`` frames (the
    memory switch between batching and looping), accumulating the mean and the mean entropy on the
    device without keeping all samples.
    """
    t = segmenter.meta.temperature(mode.value) if temperature is None else float(temperature)
    if mode is not Mode.BNN:
        return BatchPrediction(segmenter.predict(batch, mc=mode.mc, temperature=t))
    sum_probs: torch.Tensor | None = None
    sum_entropy: torch.Tensor | None = None
    b = batch.shape[0]
    done = 0
    while done < samples:
        m = min(sample_chunk, samples - done)
        stacked = batch.repeat(m, 1, 1, 1) if m > 1 else batch
        flat = segmenter.predict(stacked, mc=True, temperature=t)  # (m·B, C, h, w), sample-major
        probs = flat.view(m, b, *flat.shape[1:])
        chunk_probs = probs.sum(dim=0)
        chunk_entropy = entropy(probs, dim=2).sum(dim=0)
        sum_probs = chunk_probs if sum_probs is None else sum_probs.add_(chunk_probs)
        sum_entropy = chunk_entropy if sum_entropy is None else sum_entropy.add_(chunk_entropy)
        done += m
    assert sum_probs is not None and sum_entropy is not None
    return BatchPrediction(sum_probs / samples, sum_entropy / samples)
