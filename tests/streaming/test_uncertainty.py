"""The per-pixel class maximum the uncertainty maps use (a fast path on CPU) against ``torch.max``."""

from __future__ import annotations

import torch

from streaming.uncertainty import class_max


def test_class_max_equals_torch_max_including_ties() -> None:
    g = torch.Generator().manual_seed(1)
    probs = torch.softmax(3 * torch.randn(7, 9, 11, generator=g), dim=0)
    probs[:, 0, 0] = 1 / 7  # all tied: class 0
    probs[:, 0, 1] = torch.tensor([0.1, 0.3, 0.3, 0.1, 0.1, 0.05, 0.05])  # tie between 1 and 2: class 1
    values, labels = class_max(probs)
    expected_values, expected_labels = probs.max(dim=0)
    assert torch.equal(values, expected_values) and torch.equal(labels, expected_labels)
    assert labels[0, 0] == 0 and labels[0, 1] == 1
