"""The VQ-BNN blend against brute-force references (DESIGN §1)."""

from __future__ import annotations

import math

import pytest
import torch

from streaming import Clock, Importance, TemporalSmoother, entropy

C, H, W = 5, 4, 6


def random_probs(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(n, C, H, W, generator=g), dim=1)


def brute_force(probs: list[torch.Tensor], times: list[float], now: float, tau: float):
    weights = torch.tensor([math.exp(-(now - t) / tau) for t in times], dtype=torch.float64)
    weights /= weights.sum()
    mean = sum(w * p.double() for w, p in zip(weights, probs, strict=True))
    expected = sum(w * entropy(p.double(), dim=0) for w, p in zip(weights, probs, strict=True))
    return mean, expected, weights


def smoother(k: int, tau: float, clock: Clock = Clock.SECONDS) -> TemporalSmoother:
    return TemporalSmoother(k, C, (H, W), Importance(tau, clock), torch.device("cpu"))


@pytest.mark.parametrize("k", [1, 3, 6])
def test_blend_equals_brute_force_weighted_average(k: int) -> None:
    probs = random_probs(10)
    times = [0.0, 0.05, 0.13, 0.2, 0.26, 0.4, 0.41, 0.5, 0.62, 0.7]
    s = smoother(k, tau=0.1)
    for i in range(10):
        maps = s.push(probs[i], times[i], i)
        lo = max(0, i - k + 1)
        mean, expected, _ = brute_force(list(probs[lo : i + 1]), times[lo : i + 1], times[i], 0.1)
        torch.testing.assert_close(maps.probs.double(), mean, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(maps.expected_entropy.double(), expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(maps.entropy.double(), entropy(mean, dim=0), atol=1e-5, rtol=1e-5)
        assert maps.labels.equal(mean.argmax(0))


def test_weights_sum_to_one_and_favour_the_newest() -> None:
    s = smoother(6, tau=0.2)
    probs = random_probs(9)
    for i in range(9):
        s.push(probs[i], 0.1 * i, i)
        w = s.weights(0.1 * i, i)
        assert float(w.sum()) == pytest.approx(1.0)
        newest = (i) % 6
        assert int(w.argmax()) == newest
        assert int((w > 0).sum()) == min(i + 1, 6)


def test_k1_reduces_to_the_single_prediction() -> None:
    s = smoother(1, tau=0.1)
    probs = random_probs(3)
    for i in range(3):
        maps = s.push(probs[i], float(i), i)
        torch.testing.assert_close(maps.probs, probs[i])
        torch.testing.assert_close(maps.mutual_info, torch.zeros(H, W), atol=1e-6, rtol=0)


def test_mutual_information_is_non_negative_and_zero_when_members_agree() -> None:
    s = smoother(4, tau=0.5)
    for i, p in enumerate(random_probs(6)):
        maps = s.push(p, 0.1 * i, i)
        assert float(maps.mutual_info.min()) >= 0.0
    same = random_probs(1, seed=3)[0]
    s2 = smoother(4, tau=0.5)
    for i in range(4):
        maps = s2.push(same, 0.1 * i, i)
    torch.testing.assert_close(maps.mutual_info, torch.zeros(H, W), atol=1e-5, rtol=0)
    torch.testing.assert_close(maps.entropy, maps.expected_entropy, atol=1e-5, rtol=0)


def test_two_disagreeing_certain_members_give_ln2_of_mutual_information() -> None:
    one_hot_a = torch.zeros(C, H, W)
    one_hot_a[0] = 1
    one_hot_b = torch.zeros(C, H, W)
    one_hot_b[1] = 1
    s = smoother(2, tau=1.0, clock=Clock.FRAMES)
    s.push(one_hot_a, 0.0, 0)
    # equal weights need equal ages: a huge tau makes exp(-1/tau) ~ 1
    s.importance = Importance(1e9, Clock.FRAMES)
    maps = s.push(one_hot_b, 1.0, 1)
    torch.testing.assert_close(maps.mutual_info, torch.full((H, W), math.log(2)), atol=1e-5, rtol=0)
    torch.testing.assert_close(maps.expected_entropy, torch.zeros(H, W), atol=1e-5, rtol=0)


def test_time_and_frame_clocks_agree_at_a_constant_frame_rate() -> None:
    fps, tau_frames = 15.0, 1.25
    by_time = smoother(6, tau=tau_frames / fps, clock=Clock.SECONDS)
    by_index = smoother(6, tau=tau_frames, clock=Clock.FRAMES)
    for i, p in enumerate(random_probs(12)):
        a = by_time.push(p, 100.0 + i / fps, i)
        b = by_index.push(p, 100.0 + i / fps, i)
        torch.testing.assert_close(a.probs, b.probs, atol=1e-6, rtol=1e-5)
    w = by_index.weights(100.0 + 11 / fps, 11)
    # after 12 pushes into 6 slots, slot 0 holds frame 6 (age 5) ... slot 5 holds frame 11 (age 0)
    expected = torch.exp(-0.8 * torch.tensor([5.0, 4, 3, 2, 1, 0]))
    torch.testing.assert_close(w.float(), (expected / expected.sum()).float(), atol=1e-6, rtol=1e-5)


def test_dropped_frames_change_the_weights_as_the_timestamps_say() -> None:
    s = smoother(3, tau=0.1)
    probs = random_probs(3)
    s.push(probs[0], 0.0, 0)
    s.push(probs[1], 0.1, 1)
    s.push(probs[2], 0.5, 2)  # frames between 0.1 and 0.5 were dropped
    w = s.weights(0.5, 2)
    raw = torch.tensor([math.exp(-5.0), math.exp(-4.0), 1.0], dtype=torch.float64)
    torch.testing.assert_close(w, raw / raw.sum())


def test_incremental_form_equals_unbounded_brute_force() -> None:
    s = smoother(0, tau=0.15)
    probs = random_probs(8)
    times = [0.0, 0.07, 0.1, 0.3, 0.31, 0.45, 0.5, 0.66]
    for i in range(8):
        maps = s.push(probs[i], times[i], i)
        mean, expected, _ = brute_force(list(probs[: i + 1]), times[: i + 1], times[i], 0.15)
        torch.testing.assert_close(maps.probs.double(), mean, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(maps.expected_entropy.double(), expected, atol=1e-5, rtol=1e-5)
    assert len(s) == 8


def test_time_going_backwards_resets_the_buffer() -> None:
    s = smoother(4, tau=0.1)
    probs = random_probs(3)
    s.push(probs[0], 5.0, 0)
    s.push(probs[1], 5.1, 1)
    maps = s.push(probs[2], 1.0, 2)
    assert len(s) == 1
    torch.testing.assert_close(maps.probs, probs[2])


def test_fp16_buffer_stays_close_to_fp32() -> None:
    probs = random_probs(6)
    a = smoother(4, tau=0.1)
    b = TemporalSmoother(4, C, (H, W), Importance(0.1), torch.device("cpu"), dtype=torch.float16)
    for i in range(6):
        ma = a.push(probs[i], 0.05 * i, i)
        mb = b.push(probs[i], 0.05 * i, i)
    torch.testing.assert_close(ma.probs, mb.probs, atol=2e-3, rtol=0)
    assert b.nbytes * 2 == a.nbytes


@pytest.mark.parametrize("k", [0, 3])
def test_blend_runs_in_place_in_buffers_made_once(k: int) -> None:
    """Every push writes the blend into the same preallocated buffer (no C·h·w allocation per frame),
    and the values stay those of the brute-force blend; an incremental blend after a reset starts clean."""
    probs = random_probs(6, seed=3)
    times = [0.1 * i for i in range(6)]
    s = smoother(k, tau=0.1)
    pointers = set()
    for i in range(6):
        maps = s.push(probs[i], times[i], i)
        pointers.add(maps.probs.data_ptr())
        lo = 0 if k == 0 else max(0, i - k + 1)
        mean, expected, _ = brute_force(list(probs[lo : i + 1]), times[lo : i + 1], times[i], 0.1)
        assert torch.allclose(maps.probs.double(), mean, atol=1e-5)
        assert torch.allclose(maps.expected_entropy.double(), expected, atol=1e-5)
        assert torch.allclose(maps.entropy.double(), entropy(mean, dim=0), atol=1e-5)
    assert len(pointers) == 1
    s.reset()
    maps = s.push(probs[0], 5.0, 0)
    assert torch.allclose(maps.probs, probs[0], atol=1e-6) and torch.isfinite(maps.entropy).all()
