"""Spatial smoothing (Gaussian blur before blending) and the named variants."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from streaming import (
    GaussianBlur,
    Mode,
    StreamConfig,
    apply_variant,
    entropy,
    parse_variants,
    resolve_variant,
    variant_name,
)
from streaming.session import StreamSession
from streaming.spatial import gaussian_kernel
from streaming.variants import DEFAULT_SPATIAL_SIGMA

C, H, W = 3, 9, 11
CPU = torch.device("cpu")


def random_probs(seed: int) -> torch.Tensor:
    return torch.softmax(3 * torch.randn(C, H, W, generator=torch.Generator().manual_seed(seed)), dim=0)


def reference_blur(values: np.ndarray, sigma: float) -> np.ndarray:
    """Direct 2-D convolution with reflect padding, by loops over the kernel."""
    r = max(1, math.ceil(3 * sigma))
    x = np.arange(-r, r + 1)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    g /= g.sum()
    padded = np.pad(values, ((r, r), (r, r)), mode="reflect")
    out = np.zeros_like(values, dtype=np.float64)
    for i, gy in enumerate(g):
        for j, gx in enumerate(g):
            out += gy * gx * padded[i : i + values.shape[0], j : j + values.shape[1]]
    return out


def test_kernel_is_normalised_symmetric_and_three_sigma_wide() -> None:
    k = gaussian_kernel(1.5)
    assert k.numel() == 2 * 5 + 1
    assert float(k.sum()) == pytest.approx(1.0)
    torch.testing.assert_close(k, k.flip(0))
    with pytest.raises(ValueError):
        gaussian_kernel(0.0)


@pytest.mark.parametrize("sigma", [0.6, 1.0, 2.0])
def test_blur_equals_a_direct_convolution(sigma: float) -> None:
    maps = torch.rand(2, H, W, generator=torch.Generator().manual_seed(0))
    out = GaussianBlur(sigma, CPU).blur(maps)
    for i in range(2):
        expected = reference_blur(maps[i].double().numpy(), sigma)
        torch.testing.assert_close(out[i].double(), torch.from_numpy(expected), atol=1e-6, rtol=1e-6)


def test_blurred_probabilities_stay_distributions_and_constants_stay_put() -> None:
    blur = GaussianBlur(1.0, CPU)
    probs, member = blur(random_probs(0))
    torch.testing.assert_close(probs.sum(0), torch.ones(H, W))
    assert float(probs.min()) >= 0.0
    flat = torch.full((C, H, W), 1.0 / C)
    torch.testing.assert_close(blur(flat)[0], flat)
    assert member.shape == (H, W)


def test_blur_acts_as_a_spatial_ensemble_so_mi_is_non_negative() -> None:
    """One prediction blurred: E[H] is the blurred member entropy, so H[blur p] - blur H[p] >= 0."""
    s = StreamSession("s", StreamConfig(mode=Mode.DNN, spatial_sigma=1.0), C, (H, W), CPU)
    p = random_probs(1)
    maps = s.consume(p, 0.0)
    expected = reference_blur(entropy(p.double(), dim=0).numpy(), 1.0)
    torch.testing.assert_close(maps.expected_entropy.double(), torch.from_numpy(expected), atol=1e-5, rtol=1e-5)
    assert float(maps.mutual_info.min()) >= 0.0 and float(maps.mutual_info.max()) > 0.0


def test_spatial_then_temporal_blend_in_a_smoothing_session() -> None:
    s = StreamSession("s", StreamConfig(mode=Mode.VQBNN, spatial_sigma=0.8), C, (H, W), CPU)
    for t in range(4):
        maps = s.consume(random_probs(t), 0.05 * t)
    torch.testing.assert_close(maps.probs.sum(0), torch.ones(H, W))
    assert float(maps.mutual_info.min()) >= 0.0
    s.reconfigure(spatial_sigma=0.0)
    assert s.buffer_len == 4  # changing the blur keeps the buffer


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("vqbnn", {"mode": Mode.VQBNN}),
        ("vqbnn_motion", {"mode": Mode.VQBNN, "motion": True}),
        ("vqbnn_spatial", {"mode": Mode.VQBNN, "spatial_sigma": DEFAULT_SPATIAL_SIGMA}),
        ("VQBNN_motion_spatial", {"mode": Mode.VQBNN, "motion": True, "spatial_sigma": DEFAULT_SPATIAL_SIGMA}),
        ("vqdnn_motion", {"mode": Mode.VQDNN, "motion": True}),
        ("dnn_spatial", {"mode": Mode.DNN, "spatial_sigma": DEFAULT_SPATIAL_SIGMA}),
    ],
)
def test_variant_names_resolve(name: str, changes: dict) -> None:
    assert resolve_variant(name) == changes
    config = apply_variant(StreamConfig(tau=0.3, window=4), name)
    assert (config.tau, config.window, config.mode) == (0.3, 4, changes["mode"])
    assert variant_name(config) == name.lower()


def test_base_names_keep_the_configs_own_options() -> None:
    config = StreamConfig(motion=True, spatial_sigma=1.5)
    assert apply_variant(config, "vqdnn") == StreamConfig(mode=Mode.VQDNN, motion=True, spatial_sigma=1.5)
    assert apply_variant(StreamConfig(spatial_sigma=1.5), "vqbnn_spatial").spatial_sigma == 1.5
    assert apply_variant(StreamConfig(), Mode.BNN).mode is Mode.BNN


@pytest.mark.parametrize("name", ["vqbnn_fast", "cnn", "bnn_motion", "vqbnn_spatial_motion", "vqbnn_motion_motion"])
def test_bad_variant_names_say_what_is_allowed(name: str) -> None:
    with pytest.raises(ValueError, match="vqbnn"):
        resolve_variant(name)


def test_parse_variants_keeps_order_and_drops_duplicates() -> None:
    assert parse_variants("dnn, vqbnn_motion,dnn,,vqbnn") == ["dnn", "vqbnn_motion", "vqbnn"]
    with pytest.raises(ValueError):
        parse_variants(" , ")


def test_config_validates_spatial_sigma() -> None:
    with pytest.raises(ValueError, match="spatial_sigma"):
        StreamConfig(spatial_sigma=-1.0)
    with pytest.raises(ValueError, match="spatial_sigma"):
        StreamConfig(spatial_sigma=100.0)
