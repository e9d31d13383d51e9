"""One frame batch through the network in a given mode: probabilities plus members' entropy."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from models import Segmenter, predict_samples
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
    rate: float | None = None,
    per_frame: int | None = None,
) -> BatchPrediction:
    """Run ``batch`` once (dnn/vqdnn), ``per_frame`` MC samples (vqbnn) or ``samples`` (bnn).

    Every forward pass divides its logits by the mode's temperature before the softmax, so the blend
    (vqdnn/vqbnn) and the MC mean (bnn) average calibrated passes: ``temperature``, or by default
    the one the model's metadata holds for ``mode`` (``vqseg calibrate``; 1 when it has none). MC
    passes sample with ``rate``, by default the mode's calibrated rate ``meta.mc_rate(mode)`` (the
    training rate when it has none). ``vqbnn`` averages ``per_frame`` samples per frame, by default
    ``meta.samples_per_frame("vqbnn")`` (1: the paper's one pass).

    Several samples run ``sample_chunk`` at a time as one ``(B, m)`` draw (``models.predict_samples``:
    a cheap-tail network runs its trunk once per chunk), accumulating the mean and the members' mean
    entropy on the device without keeping all samples.
    """
    t = segmenter.meta.temperature(mode.value) if temperature is None else float(temperature)
    if not mode.mc:
        return BatchPrediction(segmenter.predict(batch, mc=False, temperature=t))
    r = segmenter.meta.mc_rate(mode.value) if rate is None else float(rate)
    if mode is Mode.BNN:
        n = samples
    else:
        n = segmenter.meta.samples_per_frame(mode.value) if per_frame is None else int(per_frame)
        if n == 1:
            return BatchPrediction(segmenter.predict(batch, mc=True, temperature=t, rate=r))
    sum_probs: torch.Tensor | None = None
    sum_entropy: torch.Tensor | None = None
    done = 0
    while done < n:
        m = min(sample_chunk, n - done)
        probs = predict_samples(segmenter, batch, m, temperature=t, rate=r)  # (B, m, C, h, w)
        chunk_probs = probs.sum(dim=1)
        chunk_entropy = entropy(probs, dim=2).sum(dim=1)
        sum_probs = chunk_probs if sum_probs is None else sum_probs.add_(chunk_probs)
        sum_entropy = chunk_entropy if sum_entropy is None else sum_entropy.add_(chunk_entropy)
        done += m
    assert sum_probs is not None and sum_entropy is not None
    return BatchPrediction(sum_probs / n, sum_entropy / n)
