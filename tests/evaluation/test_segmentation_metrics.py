from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evaluation.metrics import METRIC_KEYS, ReliabilityBins, SegmentationMetrics, auroc, predictive_entropy
from tests.evaluation import reference
from tests.evaluation.factories import random_probs, random_target


def make_sequence(seed: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    probs = random_probs(gen, (6, 5, 8, 10), sharpness=2.5)
    return probs, random_target(gen, probs)


def assert_bins_close(a: ReliabilityBins, b: ReliabilityBins) -> None:
    assert a.counts == b.counts and a.edges == b.edges
    np.testing.assert_allclose(a.mean_confidence, b.mean_confidence, rtol=1e-12)  # NaN == NaN here
    np.testing.assert_allclose(a.accuracy, b.accuracy, rtol=1e-12)
    assert a.ece == pytest.approx(b.ece, rel=1e-12)


def test_keys_are_exact() -> None:
    assert METRIC_KEYS == ("nll", "acc", "miou", "ece", "ece15", "brier", "acc90", "unc90", "auroc", "flicker")
    probs, target = make_sequence()
    metrics = SegmentationMetrics()
    metrics.update(probs, target)
    result = metrics.compute()
    assert tuple(result) == METRIC_KEYS
    assert all(isinstance(v, float) for v in result.values())


def test_empty_computes_nan_for_every_key() -> None:
    result = SegmentationMetrics().compute()
    assert tuple(result) == METRIC_KEYS and all(math.isnan(v) for v in result.values())


def test_matches_brute_force_reference(device: torch.device) -> None:
    probs, target = make_sequence()
    metrics = SegmentationMetrics()
    metrics.update(probs.to(device), target.to(device))
    result = metrics.compute()
    p, y = reference.valid_pixels(probs.double().numpy(), target.numpy())
    acc90, unc90 = reference.certainty_rates(p, y)
    expected = {
        "nll": reference.nll(p, y),
        "acc": reference.accuracy(p, y),
        "miou": reference.miou(p, y),
        "ece": reference.ece(p, y, 10),
        "ece15": reference.ece(p, y, 15),
        "brier": reference.brier(p, y),
        "acc90": acc90,
        "unc90": unc90,
        "flicker": reference.flicker(probs.argmax(1).numpy(), target.numpy()),
    }
    for key, value in expected.items():
        assert result[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    score = reference.entropy(p) / math.log(p.shape[1])
    wrong = p.argmax(axis=1) != y
    exact = reference.auroc_pairs(score[wrong], score[~wrong])
    assert abs(result["auroc"] - exact) <= metrics.auroc.max_error() + 1e-6
    bins = metrics.reliability_bins()
    assert bins.n_bins == 10 and bins.ece == result["ece"]


def test_auroc_uses_normalized_entropy_against_errors() -> None:
    probs, target = make_sequence()
    metrics = SegmentationMetrics(auroc_bins=1 << 16)
    metrics.update(probs, target)
    keep = target != 255
    score = predictive_entropy(probs, dim=1, normalize=True)[keep]
    wrong = (probs.argmax(1) != target)[keep]
    assert metrics.compute()["auroc"] == pytest.approx(auroc(score[wrong], score[~wrong]), abs=1e-3)


def test_accumulation_equals_one_update_on_concatenation() -> None:
    probs, target = make_sequence()
    whole = SegmentationMetrics()
    whole.update(probs, target)
    pieces = SegmentationMetrics()
    pieces.update(probs[:2], target[:2])
    pieces.update(probs[2], target[2])  # a single (C, H, W) frame
    pieces.update(probs[3:], target[3:].to(torch.uint8))
    expected = whole.compute()
    for key, value in pieces.compute().items():
        assert value == pytest.approx(expected[key], rel=1e-12), key
    assert_bins_close(pieces.reliability_bins(), whole.reliability_bins())
    assert torch.equal(pieces.confusion_matrix(), whole.confusion_matrix())


def test_sequence_boundary_only_affects_flicker() -> None:
    probs, target = make_sequence()
    joined, split = SegmentationMetrics(), SegmentationMetrics()
    joined.update(probs, target)
    split.update(probs[:3], target[:3])
    split.update_sequence_boundary()
    split.update(probs[3:], target[3:])
    a, b = joined.compute(), split.compute()
    for key in METRIC_KEYS[:-1]:
        assert b[key] == pytest.approx(a[key], rel=1e-12), key
    labels = probs.argmax(1).numpy()
    c1, s1 = reference.flicker_counts(labels[:3], target[:3].numpy())
    c2, s2 = reference.flicker_counts(labels[3:], target[3:].numpy())
    assert b["flicker"] == pytest.approx((c1 + c2) / (s1 + s2))
    assert a["flicker"] == pytest.approx(reference.flicker(labels, target.numpy()))


def test_reset_forgets_everything() -> None:
    probs, target = make_sequence()
    metrics = SegmentationMetrics()
    metrics.update(probs, target)
    metrics.reset()
    assert all(math.isnan(v) for v in metrics.compute().values())


def test_out_of_range_label_raises_at_compute() -> None:
    metrics = SegmentationMetrics()
    metrics.update(torch.full((2, 1, 2), 0.5), torch.tensor([[0, 9]]))
    with pytest.raises(ValueError, match="outside"):
        metrics.compute()
