"""The network's passes over a labelled folder, computed once and kept for the temperature search.

Per frame, at the sampled pixels only (``pixels.PixelSample``): the log-probabilities of the
deterministic pass (dropout off: what dnn and vqdnn serve) and of ``samples`` MC passes (dropout on:
bnn's N passes; vqbnn serves the mean of the first ``per_frame``, one unless the model says otherwise),
drawn at one MC dropout ``rate`` (the rate search caches each candidate rate in turn).
``log softmax(z)`` equals the logits ``z`` up to a per-pixel constant, so
``softmax(log p / T) = softmax(z / T)``: every temperature's prediction follows from this cache
without running the network again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from evaluation.calibration.pixels import PixelSample, sample_pixels
from evaluation.suite import EvalSequence
from models import Segmenter, predict_samples

LOG_FLOOR = torch.finfo(torch.float32).tiny


@dataclass
class RunCache:
    """One run of frames (a sequence, or a still) at its sampled pixels."""

    name: str
    still: bool
    sample: PixelSample
    timestamps: list[float] = field(default_factory=list)
    labels: list[torch.Tensor] = field(default_factory=list)  # (M,) int64, 255 = ignore
    deterministic: list[torch.Tensor] = field(default_factory=list)  # (C, U) log-probabilities
    mc: list[torch.Tensor] = field(default_factory=list)  # (S, C, U) log-probabilities
    per_frame: int = 1  # MC samples vqbnn averages per frame (the first ``per_frame`` of ``mc``)
    rate: float | None = None  # the MC dropout rate of ``mc`` (None: the model's training rate)

    def __len__(self) -> int:
        return len(self.timestamps)


def _log_probs(probs: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
    flat = probs.flatten(2)[:, :, sources.to(probs.device)]  # (B, C, U)
    return flat.clamp_min(LOG_FLOOR).log().float().cpu()


def cache_run(
    segmenter: Segmenter,
    sequence: EvalSequence,
    still: bool,
    deterministic: bool,
    samples: int,
    pixels: int,
    seed: int = 0,
    sample_chunk: int = 8,
    rate: float | None = None,
    per_frame: int = 1,
) -> RunCache:
    """Run the network over ``sequence`` (labels required) and keep its passes at the sampled pixels."""
    if sequence.labels is None:
        raise ValueError(f"{sequence.name}: calibration needs labels")
    sample = sample_pixels(sequence.labels[0].shape[:2], segmenter.meta.input_size, pixels, seed)
    cache = RunCache(sequence.name, still, sample, per_frame=per_frame, rate=rate)
    for image, timestamp, label in zip(sequence.images, sequence.timestamps, sequence.labels, strict=True):
        if label.shape[:2] != sequence.labels[0].shape[:2]:
            raise ValueError(f"{sequence.name}: label sizes change within the sequence")
        batch = segmenter.prepare([image])
        cache.timestamps.append(float(timestamp))
        cache.labels.append(torch.from_numpy(label.reshape(-1)[sample.pixels.numpy()].astype("int64")))
        if deterministic:
            probs = segmenter.predict(batch, mc=False, temperature=1.0)
            cache.deterministic.append(_log_probs(probs, sample.sources)[0])
        passes = []
        done = 0
        while done < samples:
            m = min(sample_chunk, samples - done)
            probs = predict_samples(segmenter, batch, m, temperature=1.0, rate=rate)[0]  # (m, C, h, w)
            passes.append(_log_probs(probs, sample.sources))
            done += m
        if passes:
            cache.mc.append(torch.cat(passes))
    return cache


def cache_runs(
    segmenter: Segmenter,
    sequences: Iterable[tuple[EvalSequence, bool]],
    deterministic: bool,
    samples: int,
    pixels: int,
    total: int,
    progress: bool = True,
    rate: float | None = None,
    per_frame: int = 1,
) -> list[RunCache]:
    """``cache_run`` over ``(sequence, is_still)`` pairs, each run with its own pixel seed."""
    caches = []
    bar = tqdm(total=total, desc="network passes", unit="frame", disable=not progress, mininterval=1.0)
    for index, (sequence, still) in enumerate(sequences):
        caches.append(
            cache_run(
                segmenter, sequence, still, deterministic, samples, pixels, seed=index, rate=rate, per_frame=per_frame
            )
        )
        bar.update(len(sequence))
    bar.close()
    return caches
