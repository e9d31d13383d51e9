"""What a mode serves at temperature T, from the cached passes, and the T that minimises its NLL.

Per mode, as the service computes it (``streaming.predict_batch`` then the stream's session):
``dnn`` softmax(z/T) of the deterministic pass; ``bnn`` the mean of N tempered MC passes; ``vqdnn`` /
``vqbnn`` each frame's tempered pass (deterministic / the mean of its MC samples, one unless the model
serves more) blended by a ``StreamSession`` in
that mode over the run's frames in time order, the server's blend. The prediction is then upsampled
to the sampled label pixels. NLL(T) is searched on log T by golden section (it is unimodal in
practice: convex for one pass, and the blends and means of tempered passes stay well behaved).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import replace

import torch

from evaluation.calibration.cache import RunCache
from evaluation.metrics import SegmentationMetrics
from streaming import Mode, StreamConfig, StreamSession

EPS = 1e-12
T_RANGE = (0.05, 20.0)
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def runs_for(mode: Mode, caches: Sequence[RunCache]) -> list[RunCache]:
    """The runs a mode is fitted and scored on: every frame for dnn/bnn, video sequences for vq modes."""
    return [c for c in caches if not (mode.smooths and c.still)]


def _pass(cache: RunCache, mode: Mode, index: int, temperature: float) -> torch.Tensor:
    if mode in (Mode.DNN, Mode.VQDNN):
        return torch.softmax(cache.deterministic[index] / temperature, dim=0)
    if mode is Mode.BNN:
        return torch.softmax(cache.mc[index] / temperature, dim=1).mean(dim=0)
    return torch.softmax(cache.mc[index][: cache.per_frame] / temperature, dim=1).mean(dim=0)


def served(
    cache: RunCache, mode: Mode, temperature: float, config: StreamConfig
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Per frame of ``cache``: ``(probs (C, M) at the sampled label pixels, labels (M,))``."""
    session = None
    if mode.smooths:
        classes, sources = cache.deterministic[0].shape if cache.deterministic else cache.mc[0].shape[1:]
        session = StreamSession(cache.name, replace(config, mode=mode), classes, (1, sources), torch.device("cpu"))
    for index, timestamp in enumerate(cache.timestamps):
        probs = _pass(cache, mode, index, temperature)
        if session is not None:
            probs = session.consume(probs[:, None, :], timestamp).probs[:, 0, :]
        yield cache.sample.at_labels(probs), cache.labels[index]


def mean_nll(caches: Sequence[RunCache], mode: Mode, temperature: float, config: StreamConfig) -> float:
    """Mean ``-log P[label]`` over the valid sampled pixels of the mode's runs."""
    total, count = 0.0, 0
    for cache in runs_for(mode, caches):
        for probs, labels in served(cache, mode, temperature, config):
            valid = labels < probs.shape[0]  # 255 (ignore) and any unknown label are left out
            if not bool(valid.any()):
                continue
            target = probs[:, valid].gather(0, labels[valid][None]).clamp_min(EPS)
            total += float(-target.double().log().sum())
            count += int(valid.sum())
    if not count:
        raise ValueError(f"no labelled pixels to fit {mode.value} on")
    return total / count


def fit_temperature(
    caches: Sequence[RunCache],
    mode: Mode,
    config: StreamConfig,
    bounds: tuple[float, float] = T_RANGE,
    tolerance: float = 1e-3,
) -> float:
    """The temperature in ``bounds`` minimising ``mean_nll`` (golden section on log T)."""
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    a, b = hi - GOLDEN * (hi - lo), lo + GOLDEN * (hi - lo)
    fa, fb = (mean_nll(caches, mode, math.exp(u), config) for u in (a, b))
    while hi - lo > tolerance:
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - GOLDEN * (hi - lo)
            fa = mean_nll(caches, mode, math.exp(a), config)
        else:
            lo, a, fa = a, b, fb
            b = lo + GOLDEN * (hi - lo)
            fb = mean_nll(caches, mode, math.exp(b), config)
    return math.exp((lo + hi) / 2.0)


def scores(caches: Sequence[RunCache], mode: Mode, temperature: float, config: StreamConfig) -> dict[str, float]:
    """NLL, accuracy, ECE (10 and 15 bins) and Brier of the mode at ``temperature`` on the sampled pixels."""
    metrics = SegmentationMetrics()
    frames = 0
    for cache in runs_for(mode, caches):
        for probs, labels in served(cache, mode, temperature, config):
            metrics.update(probs[:, None, :], labels[None])
            frames += 1
        metrics.update_sequence_boundary()
    result = metrics.compute()
    keep = ("nll", "acc", "ece", "ece15", "brier")
    return {**{k: result[k] for k in keep}, "frames": float(frames)}
