"""Device-to-host maps: upsampling, argmax of upsampled probabilities, exact 16-bit quantisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from server.frame_maps import maps_to_host
from streaming import entropy, uncertainty_maps


def test_quantisation_is_exact_at_the_ends_and_labels_come_from_upsampled_probs() -> None:
    torch.manual_seed(0)
    probs = torch.softmax(torch.randn(4, 8, 12) * 3, dim=0)
    probs[:, 0, 0] = torch.tensor([1.0, 0.0, 0.0, 0.0])  # entropy 0
    probs[:, 0, 1] = 0.25  # entropy log 4: normalised 1
    maps = uncertainty_maps(probs, entropy(probs, dim=0))
    same = maps_to_host(maps, (8, 12), ("confidence",))
    assert same.uncertainty.dtype == np.uint16 and same.labels.dtype == np.uint8
    assert same.uncertainty[0, 0] == 0 and same.uncertainty[0, 1] == 65535
    expected = np.round(maps.entropy_normalised.clamp(0, 1).numpy() * 65535).astype(np.uint16)
    assert (same.uncertainty == expected).all()
    assert (same.labels == probs.argmax(0).numpy()).all()
    assert same.mean_uncertainty == pytest.approx(float(maps.entropy.mean()) / math.log(4), rel=1e-5)
    big = maps_to_host(maps, (24, 36), ("confidence", "mutual_info"))
    up = F.interpolate(probs[None], size=(24, 36), mode="bilinear", align_corners=False)[0]
    assert big.labels.shape == (24, 36) and (big.labels == up.argmax(0).numpy()).all()
    assert set(big.maps) == {"entropy", "confidence", "mutual_info"}
    assert big.maps["mutual_info"].max() == 0  # one member: no epistemic uncertainty
