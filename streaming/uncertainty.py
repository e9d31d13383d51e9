"""Per-pixel uncertainty of a predictive distribution, computed on the device.

For a mixture P = Σ pi_i p_i: predictive entropy H[P] = expected entropy E_pi[H[p_i]] (aleatoric)
+ mutual information (epistemic, >= 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

_EPS = 1e-12


def entropy(probs: torch.Tensor, dim: int = -3, scratch: torch.Tensor | None = None) -> torch.Tensor:
    """Shannon entropy (nats) along the class dimension; 0·log 0 counts as 0.

    ``scratch``: a float32 tensor of ``probs``' shape to work in (no allocation of that size).
    """
    if scratch is not None:
        torch.clamp(probs, min=_EPS, out=scratch)
        return scratch.log_().mul_(probs).sum(dim=dim).neg_()
    p = probs.float() if probs.dtype in (torch.float16, torch.bfloat16) else probs
    return -(p * torch.log(p.clamp_min(_EPS))).sum(dim=dim)


@dataclass
class UncertaintyMaps:
    """Per-pixel outputs for one frame, all ``(h, w)`` tensors on the model's device.

    ``probs`` is the smoothed predictive distribution ``(C, h, w)``.
    """

    probs: torch.Tensor
    labels: torch.Tensor
    confidence: torch.Tensor
    entropy: torch.Tensor
    expected_entropy: torch.Tensor
    mutual_info: torch.Tensor

    @property
    def num_classes(self) -> int:
        return int(self.probs.shape[0])

    @property
    def entropy_normalised(self) -> torch.Tensor:
        """Predictive entropy divided by log C, in [0, 1]."""
        return self.entropy / math.log(self.num_classes)

    @property
    def mutual_info_normalised(self) -> torch.Tensor:
        return self.mutual_info / math.log(self.num_classes)

    def named_maps(self) -> dict[str, torch.Tensor]:
        """Float maps in [0, 1] by name, as the server encodes them."""
        return {
            "entropy": self.entropy_normalised.clamp(0, 1),
            "confidence": self.confidence,
            "mutual_info": self.mutual_info_normalised.clamp(0, 1),
            "expected_entropy": (self.expected_entropy / math.log(self.num_classes)).clamp(0, 1),
        }


MAP_NAMES = ("entropy", "confidence", "mutual_info", "expected_entropy")


def class_max(probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``probs.max(dim=0)`` of a ``(C, h, w)`` tensor: the values and the first index of the maximum.

    On CPU ``max`` with indices over the (outer, strided) class axis is slow; ``amax`` is not, and
    the index then follows from C comparisons against it (the lowest class wins ties, as in ``max``).
    """
    if probs.device.type != "cpu" or probs.shape[0] > 64:
        return probs.max(dim=0)
    values = probs.amax(dim=0)
    labels = torch.zeros(values.shape, dtype=torch.long, device=probs.device)
    equal = torch.empty(values.shape, dtype=torch.bool, device=probs.device)
    for c in range(probs.shape[0] - 1, -1, -1):  # down to 0: the lowest class equal to the maximum wins
        torch.eq(probs[c], values, out=equal)
        labels.masked_fill_(equal, c)
    return values, labels


def uncertainty_maps(
    probs: torch.Tensor, expected_entropy: torch.Tensor, scratch: torch.Tensor | None = None
) -> UncertaintyMaps:
    """Maps from a predictive distribution ``(C, h, w)`` and its members' mean entropy ``(h, w)``
    (``scratch``: see ``entropy``)."""
    confidence, labels = class_max(probs)
    predictive = entropy(probs, dim=0, scratch=scratch)
    mutual_info = (predictive - expected_entropy).clamp_min(0.0)
    return UncertaintyMaps(
        probs=probs,
        labels=labels,
        confidence=confidence.float(),
        entropy=predictive,
        expected_entropy=expected_entropy.float(),
        mutual_info=mutual_info,
    )


def single_maps(
    probs: torch.Tensor, member_entropy: torch.Tensor | None = None, scratch: torch.Tensor | None = None
) -> UncertaintyMaps:
    """Maps of a prediction blended with nothing (``dnn``/``bnn``, or a frame without a stream):
    ``member_entropy`` is its MC samples' mean entropy, None for one pass (then its own entropy)."""
    expected = entropy(probs, dim=0, scratch=scratch) if member_entropy is None else member_entropy
    return uncertainty_maps(probs.float(), expected.float(), scratch)
