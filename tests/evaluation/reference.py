"""Brute-force numpy references (per-pixel loops) for the metric tests. Small inputs only."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def valid_pixels(probs: FloatArray, target: IntArray, ignore: int = 255) -> tuple[FloatArray, IntArray]:
    """``(B, C, H, W)``, ``(B, H, W)`` -> ``(P, C)`` rows and ``(P,)`` labels of the kept pixels."""
    rows, labels = [], []
    for b in range(target.shape[0]):
        for i in range(target.shape[1]):
            for j in range(target.shape[2]):
                if target[b, i, j] != ignore:
                    rows.append(probs[b, :, i, j])
                    labels.append(int(target[b, i, j]))
    return np.array(rows, dtype=np.float64), np.array(labels, dtype=np.int64)


def nll(p: FloatArray, y: IntArray) -> float:
    return float(np.mean([-math.log(max(p[k, y[k]], 1e-12)) for k in range(len(y))]))


def brier(p: FloatArray, y: IntArray) -> float:
    onehot = np.eye(p.shape[1])[y]
    return float(np.mean(((p - onehot) ** 2).sum(axis=1)))


def accuracy(p: FloatArray, y: IntArray) -> float:
    return float(np.mean(p.argmax(axis=1) == y))


def miou(p: FloatArray, y: IntArray) -> float:
    pred = p.argmax(axis=1)
    ious = []
    for c in range(p.shape[1]):
        union = np.sum((pred == c) | (y == c))
        if union:
            ious.append(np.sum((pred == c) & (y == c)) / union)
    return float(np.mean(ious))


def ece(p: FloatArray, y: IntArray, n_bins: int) -> float:
    conf, correct = p.max(axis=1), p.argmax(axis=1) == y
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        in_bin = (conf > lo) & (conf <= hi) if b else (conf <= hi)
        if in_bin.any():
            total += in_bin.sum() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return total / len(y)


def certainty_rates(p: FloatArray, y: IntArray, threshold: float = 0.9) -> tuple[float, float]:
    certain, accurate = p.max(axis=1) >= threshold, p.argmax(axis=1) == y
    acc = accurate[certain].mean() if certain.any() else math.nan
    unc = (~certain[~accurate]).mean() if (~accurate).any() else math.nan
    return float(acc), float(unc)


def auroc_pairs(pos: FloatArray, neg: FloatArray) -> float:
    """Mean over all (positive, negative) pairs of 1[pos > neg] + 0.5 * 1[pos == neg]."""
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def entropy(p: FloatArray) -> FloatArray:
    """Per-row entropy in nats of ``(P, C)`` rows."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=1)


def flicker(pred: IntArray, target: IntArray, ignore: int = 255) -> float:
    """``(T, H, W)`` labels of one sequence."""
    changed, stable = flicker_counts(pred, target, ignore)
    return changed / stable if stable else math.nan


def flicker_counts(pred: IntArray, target: IntArray, ignore: int = 255) -> tuple[int, int]:
    """(changed, stable) pixel counts over the consecutive pairs of one ``(T, H, W)`` sequence."""
    stable = changed = 0
    for t in range(1, pred.shape[0]):
        for i in range(pred.shape[1]):
            for j in range(pred.shape[2]):
                a, b = target[t - 1, i, j], target[t, i, j]
                if a != ignore and b != ignore and a == b:
                    stable += 1
                    changed += int(pred[t, i, j] != pred[t - 1, i, j])
    return changed, stable
