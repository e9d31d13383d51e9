"""Motion-aware smoothing in the incremental form (window 0) against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from streaming import Clock, Importance, MotionOptions, StreamConfig, TemporalSmoother, entropy
from streaming.motion_running import RunningMotionSmoother
from streaming.session import StreamSession
from tests.streaming.test_motion import CPU, C, H, ShiftEstimator, W, mean3x3, random_probs, shifted

TAU = 1.5


def running(estimator: ShiftEstimator, sigma: float = 0.0) -> RunningMotionSmoother:
    options = MotionOptions(similarity_sigma=sigma)
    return RunningMotionSmoother(C, (H, W), Importance(TAU, Clock.FRAMES), CPU, options, estimator)


def test_zero_flow_reproduces_the_plain_incremental_form() -> None:
    grey = np.random.default_rng(0).standard_normal((H, W)).astype(np.float32)
    probs = random_probs(6)
    motion = running(ShiftEstimator([(0, 0)] * 6), sigma=0.3)
    plain = TemporalSmoother(0, C, (H, W), Importance(TAU, Clock.FRAMES), CPU)
    for t in range(6):
        a = motion.push(probs[t], 0.1 * t, t, image=grey)
        b = plain.push(probs[t], 0.1 * t, t)
        torch.testing.assert_close(a.probs, b.probs, atol=1e-5, rtol=0)
        torch.testing.assert_close(a.expected_entropy, b.expected_entropy, atol=1e-5, rtol=0)


@pytest.mark.parametrize("sigma", [0.0, 0.7])
def test_running_blend_equals_brute_force_with_chained_weights(sigma: float) -> None:
    rng = np.random.default_rng(3)
    offsets = [(0, 0), (1, 0), (2, 1), (2, 2), (4, 1), (3, 1)]
    greys = [rng.standard_normal((H, W)).astype(np.float32) for _ in offsets]
    probs = random_probs(len(offsets), seed=4)
    # similarity of each step j (frame j vs frame j-1 warped), in frame j's coordinates
    step_sim = [np.ones((H, W))]
    for j in range(1, len(offsets)):
        dx, dy = offsets[j][0] - offsets[j - 1][0], offsets[j][1] - offsets[j - 1][1]
        prev, _ = shifted(greys[j - 1], dx, dy)
        r = mean3x3(np.abs(greys[j] - prev))
        step_sim.append(np.exp(-0.5 * (r / sigma) ** 2) if sigma > 0 else np.ones((H, W)))
    s = running(ShiftEstimator(offsets), sigma)
    for t in range(len(offsets)):
        maps = s.push(probs[t], 0.1 * t, t, image=greys[t])
        num_p, num_h, den = np.zeros((C, H, W)), np.zeros((H, W)), np.zeros((H, W))
        for i in range(t + 1):
            to_i = (offsets[t][0] - offsets[i][0], offsets[t][1] - offsets[i][1])
            w = np.full((H, W), math.exp(-(t - i) / TAU))
            for j in range(i + 1, t + 1):  # each step j -> j-1 on the chain, looked up where x sits in frame j
                at_j = (offsets[t][0] - offsets[j][0], offsets[t][1] - offsets[j][1])
                sim, _ = shifted(step_sim[j], *at_j)
                to_before = (offsets[t][0] - offsets[j - 1][0], offsets[t][1] - offsets[j - 1][1])
                _, inside = shifted(np.zeros((H, W)), *to_before)
                w = w * sim * inside
            p, _ = shifted(probs[i].double().numpy(), *to_i)
            h, _ = shifted(entropy(probs[i].double(), dim=0).numpy(), *to_i)
            num_p += w * p
            num_h += w * h
            den += w
        torch.testing.assert_close(maps.probs.double(), torch.from_numpy(num_p / den), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            maps.expected_entropy.double(), torch.from_numpy(num_h / den), atol=1e-5, rtol=1e-5
        )
        assert float(maps.mutual_info.min()) >= 0.0


def test_a_cut_restarts_the_running_sums() -> None:
    probs = random_probs(3, seed=8)
    grey = np.zeros((H, W), np.float32)
    s = running(ShiftEstimator([(0, 0)] * 3, matched=[1.0, 1.0, 0.0]))
    s.push(probs[0], 0.0, 0, image=grey)
    s.push(probs[1], 0.1, 1, image=grey)
    maps = s.push(probs[2], 0.2, 2, image=grey)
    assert s.last_cut and len(s) == 1
    torch.testing.assert_close(maps.probs, probs[2])


def test_a_session_with_window_zero_uses_the_running_form() -> None:
    session = StreamSession("s", StreamConfig(motion=True, window=0), C, (H, W), CPU)
    image = np.zeros((30, 40, 3), np.uint8)
    for t in range(3):
        maps = session.consume(random_probs(1, seed=t)[0], 0.1 * t, image=image)
    assert session.buffer_len == 3 and float(maps.mutual_info.min()) >= 0.0
