"""Forward passes as MC samples, and the one accumulator that averages them.

``forward_samples`` runs a prepared batch ``(B, 3, H, W)`` ``m`` times and returns the sample
probabilities as ``(B, M, C, h, w)``: the shape the accumulator takes, whatever the network. MC
samples come from ``models.predict_samples`` at the mode's MC rate: a network whose dropout sits in a
cheap tail runs its trunk once and only the tail on ``B·M`` features; others run whole passes.
``McAccumulator`` keeps one frame's running sums on the device (mean probabilities and mean member
entropy) across any number of steps, so ``bnn``'s N passes, a single MC pass (``vqbnn``) and a
deterministic pass (``dnn``/``vqdnn``) all become a frame's prediction the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from models import Segmenter, predict_samples
from streaming.modes import Mode
from streaming.uncertainty import entropy


@contextlib.contextmanager
def seeded(device: torch.device, seed: int) -> Iterator[None]:
    """Draw dropout masks from ``seed`` inside the block; the global generator's state is restored
    afterwards, so unseeded streams are not affected."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type if devices else "cuda"):
        torch.manual_seed(seed)
        yield


def forward_samples(
    segmenter: Segmenter,
    batch: torch.Tensor,
    mc: bool,
    samples: int,
    temperature: float,
    seed: int | None = None,
    rate: float | None = None,
) -> torch.Tensor:
    """``samples`` forward passes of ``batch`` as ``(B, M, C, h, w)`` probabilities on the device; MC
    passes sample at ``rate`` (None: the training rate)."""
    with contextlib.nullcontext() if seed is None else seeded(segmenter.device, seed):
        if mc:
            return predict_samples(segmenter, batch, samples, temperature=temperature, rate=rate)
        b = batch.shape[0]
        stacked = batch.repeat(samples, 1, 1, 1) if samples > 1 else batch
        flat = segmenter.predict(stacked, mc=False, temperature=temperature)  # (M·B, C, h, w), sample-major
    return flat.view(samples, b, *flat.shape[1:]).transpose(0, 1)


def mc_rate(segmenter: Segmenter, mode: Mode) -> float | None:
    """The dropout rate ``mode``'s passes sample at (``meta.mc_rate``), None for deterministic modes."""
    return segmenter.meta.mc_rate(mode.value) if mode.mc else None


def samples_per_frame(segmenter: Segmenter, mode: Mode, bnn_samples: int) -> int:
    """Passes one frame takes: ``bnn``'s N, vqbnn's samples per frame (``meta.samples_per_frame``), else 1."""
    if mode is Mode.BNN:
        return bnn_samples
    return segmenter.meta.samples_per_frame(mode.value) if mode is Mode.VQBNN else 1


class McAccumulator:
    """One frame's MC samples so far: ``add`` takes ``(M, C, h, w)``; ``result`` gives the mean
    probabilities ``(C, h, w)`` and the members' mean entropy ``(h, w)`` — None for a frame of one
    sample, whose member entropy is its own (the blend computes it in its work space)."""

    def __init__(self) -> None:
        self.count = 0
        self._single: torch.Tensor | None = None
        self._sum_probs: torch.Tensor | None = None
        self._sum_entropy: torch.Tensor | None = None

    def add(self, samples: torch.Tensor) -> None:
        if self.count == 0 and samples.shape[0] == 1:
            self._single = samples[0]
            self.count = 1
            return
        if self._single is not None:  # a second step: the first sample joins the sums
            self._sum_probs, self._sum_entropy = self._single.clone(), entropy(self._single, dim=0)
            self._single = None
        step_probs, step_entropy = samples.sum(dim=0), entropy(samples, dim=1).sum(dim=0)
        if self._sum_probs is None or self._sum_entropy is None:
            self._sum_probs, self._sum_entropy = step_probs, step_entropy
        else:
            self._sum_probs.add_(step_probs)
            self._sum_entropy.add_(step_entropy)
        self.count += int(samples.shape[0])

    def result(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self._single is not None:
            return self._single, None
        if self._sum_probs is None or self._sum_entropy is None:
            raise ValueError("no samples accumulated")
        return self._sum_probs / self.count, self._sum_entropy / self.count


@dataclass
class BatchPrediction:
    """``probs`` ``(B, C, h, w)``; ``member_entropy`` ``(B, h, w)`` or None (single pass: its own entropy)."""

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
) -> BatchPrediction:
    """A prepared batch through the network in ``mode`` without a stream: one pass (dnn/vqdnn), the
    model's samples per frame (vqbnn, 1 unless set) or ``samples`` MC passes (bnn) in steps of
    ``sample_chunk``, averaged by ``McAccumulator``. Every pass divides its logits by the mode's
    temperature (``meta.temperature(mode)``, or ``temperature``); MC passes sample at the mode's rate
    (``meta.mc_rate(mode)``, or ``rate``)."""
    t = segmenter.meta.temperature(mode.value) if temperature is None else float(temperature)
    r = mc_rate(segmenter, mode) if rate is None else float(rate)
    total = samples_per_frame(segmenter, mode, samples)
    accumulators = [McAccumulator() for _ in range(batch.shape[0])]
    done = 0
    while done < total:
        m = min(sample_chunk, total - done)
        step = forward_samples(segmenter, batch, mode.mc, m, t, rate=r)
        for acc, frame_samples in zip(accumulators, step, strict=True):
            acc.add(frame_samples)
        done += m
    results = [acc.result() for acc in accumulators]
    probs = torch.stack([p for p, _ in results])
    members = [e for _, e in results]
    return BatchPrediction(probs, None if members[0] is None else torch.stack(members))  # type: ignore[misc]
