"""Motion-aware smoothing: warping, composition, per-pixel weights against brute force, cuts, sessions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.backend_torch import TorchSegmenter
from streaming import (
    Clock,
    Importance,
    MissingImageError,
    MotionOptions,
    MotionSmoother,
    StreamConfig,
    StreamPipeline,
    TemporalSmoother,
    entropy,
)
from streaming.flow import FlowEstimator, FrameMotion, GreyFrame
from streaming.session import StreamSession
from streaming.warp import Warper

C, H, W, K = 4, 12, 16, 4
CPU = torch.device("cpu")


class ShiftEstimator:
    """Exact motion of a camera sliding over a fixed world by integer offsets (one per frame).

    The "image" handed to the smoother is the normalised grey map itself (float32 (h, w)).
    """

    def __init__(self, offsets: list[tuple[int, int]], matched: list[float] | None = None) -> None:
        self.offsets = offsets
        self.matched = matched or [1.0] * len(offsets)
        self.calls = 0

    def grey(self, image: np.ndarray) -> GreyFrame:
        return GreyFrame(normalised=image.astype(np.float32), small=np.zeros((2, 2), np.uint8))

    def motion(self, previous: GreyFrame, current: GreyFrame) -> FrameMotion:
        self.calls += 1
        t = self.calls
        (px, py), (cx, cy) = self.offsets[t - 1], self.offsets[t]
        flow = np.empty((2, H, W), np.float32)
        flow[0], flow[1] = cx - px, cy - py  # backward: where the current pixel sat in the previous frame
        return FrameMotion(flow=flow, valid=np.ones((H, W), np.float32), matched=self.matched[t])


def smoother(estimator: object, sigma: float = 0.0, cut: float = 0.3, tau: float = 1.5) -> MotionSmoother:
    options = MotionOptions(similarity_sigma=sigma, cut_threshold=cut)
    importance = Importance(tau, Clock.FRAMES)
    return MotionSmoother(K, C, (H, W), importance, CPU, options=options, estimator=estimator)  # type: ignore[arg-type]


def random_probs(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(n, C, H, W, generator=g), dim=1)


def shifted(values: np.ndarray, dx: int, dy: int) -> tuple[np.ndarray, np.ndarray]:
    """``values[..., clamp(y + dy), clamp(x + dx)]`` and the in-view mask, by plain indexing."""
    ys, xs = np.mgrid[0:H, 0:W]
    sx, sy = xs + dx, ys + dy
    inside = (sx >= 0) & (sx < W) & (sy >= 0) & (sy < H)
    return values[..., np.clip(sy, 0, H - 1), np.clip(sx, 0, W - 1)], inside


def mean3x3(values: np.ndarray) -> np.ndarray:
    """3x3 mean over the neighbours inside the image (count_include_pad=False), by loops."""
    out = np.zeros_like(values)
    for y in range(H):
        for x in range(W):
            out[y, x] = values[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2].mean()
    return out


def test_warp_with_zero_flow_is_the_identity_and_integer_shifts_are_exact() -> None:
    warper = Warper((H, W), CPU)
    values = torch.rand(2, 3, H, W)
    torch.testing.assert_close(warper.warp(values, torch.zeros(2, 2, H, W)), values, atol=1e-5, rtol=0)
    flow = torch.zeros(1, 2, H, W)
    flow[:, 0], flow[:, 1] = 2.0, -1.0
    expected, _ = shifted(values.numpy(), 2, -1)
    torch.testing.assert_close(warper.warp(values, flow), torch.from_numpy(expected), atol=1e-5, rtol=0)
    inside = warper.in_view(flow)[0].numpy()
    assert inside[:, W - 2 :].sum() == 0 and inside[0].sum() == 0 and inside[1:, : W - 2].all()


def test_composing_two_translations_adds_them() -> None:
    warper = Warper((H, W), CPU)
    step = torch.zeros(1, 2, H, W)
    step[:, 0] = 1.0
    flows = torch.zeros(3, 2, H, W)
    flows[:, 1] = 2.0
    validity = torch.ones(3, H, W)
    warper.compose(step, flows, validity)
    torch.testing.assert_close(flows[:, 0], torch.ones(3, H, W))
    torch.testing.assert_close(flows[:, 1], torch.full((3, H, W), 2.0))


def test_zero_flow_reproduces_plain_vqbnn() -> None:
    grey = np.random.default_rng(0).standard_normal((H, W)).astype(np.float32)
    probs = random_probs(7)
    motion = smoother(ShiftEstimator([(0, 0)] * 7), sigma=0.2)
    plain = TemporalSmoother(K, C, (H, W), Importance(1.5, Clock.FRAMES), CPU)
    for t in range(7):
        a = motion.push(probs[t], 0.1 * t, t, image=grey)
        b = plain.push(probs[t], 0.1 * t, t)
        torch.testing.assert_close(a.probs, b.probs, atol=1e-6, rtol=0)
        torch.testing.assert_close(a.expected_entropy, b.expected_entropy, atol=1e-6, rtol=0)
        torch.testing.assert_close(a.mutual_info, b.mutual_info, atol=1e-5, rtol=0)


@pytest.mark.parametrize("sigma", [0.0, 0.5])
def test_blend_equals_brute_force_per_pixel_weighted_average(sigma: float) -> None:
    rng = np.random.default_rng(1)
    offsets = [(0, 0), (1, 0), (3, 1), (2, 1), (2, -1), (4, 0), (5, 2)]
    greys = [rng.standard_normal((H, W)).astype(np.float32) for _ in offsets]
    probs = random_probs(len(offsets), seed=2)
    s = smoother(ShiftEstimator(offsets), sigma=sigma)
    for t in range(len(offsets)):
        maps = s.push(probs[t], 0.1 * t, t, image=greys[t])
        members = range(max(0, t - K + 1), t + 1)
        pi = np.array([math.exp(-(t - i) / 1.5) for i in members])
        num_p, num_h, den = np.zeros((C, H, W)), np.zeros((H, W)), np.zeros((H, W))
        for weight, i in zip(pi, members, strict=True):
            dx, dy = offsets[t][0] - offsets[i][0], offsets[t][1] - offsets[i][1]
            p, _ = shifted(probs[i].double().numpy(), dx, dy)
            h, _ = shifted(entropy(probs[i].double(), dim=0).numpy(), dx, dy)
            g, _ = shifted(greys[i], dx, dy)
            valid = np.ones((H, W))
            for j in range(i, t):  # the chain passes through every frame in between
                valid *= shifted(np.zeros((H, W)), offsets[t][0] - offsets[j][0], offsets[t][1] - offsets[j][1])[1]
            w = weight * valid
            if sigma > 0 and i != t:
                w = w * np.exp(-0.5 * (mean3x3(np.abs(greys[t] - g)) / sigma) ** 2)
            num_p += w * p
            num_h += w * h
            den += w
        torch.testing.assert_close(maps.probs.double(), torch.from_numpy(num_p / den), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            maps.expected_entropy.double(), torch.from_numpy(num_h / den), atol=1e-5, rtol=1e-5
        )
        assert float(maps.mutual_info.min()) >= 0.0


def test_known_translation_aligns_the_buffer_unlike_plain_vqbnn() -> None:
    """A camera sliding 1 px/frame over a fixed probability field: aligned members agree exactly."""
    world = torch.softmax(4 * torch.randn(C, H, W + 8, generator=torch.Generator().manual_seed(3)), dim=0)
    offsets = [(t, 0) for t in range(6)]
    grey = np.zeros((H, W), np.float32)
    s = smoother(ShiftEstimator(offsets))
    plain = TemporalSmoother(K, C, (H, W), Importance(1.5, Clock.FRAMES), CPU)
    for t, (ox, _) in enumerate(offsets):
        view = world[:, :, ox : ox + W]
        maps = s.push(view, 0.1 * t, t, image=grey)
        smeared = plain.push(view, 0.1 * t, t)
    torch.testing.assert_close(maps.probs, view, atol=1e-5, rtol=0)  # out-of-view pixels fall back to now
    assert float(maps.mutual_info.max()) < 1e-5
    assert float((smeared.probs - view).abs().max()) > 0.1


def test_real_flow_aligns_a_shifted_texture() -> None:
    """DIS on a smooth texture shifted 3 px per frame: the aligned blend stays close to the current map."""
    rng = np.random.default_rng(4)
    big = rng.standard_normal((60, 120)).astype(np.float32)
    texture = np.clip(128 + 60 * cvblur(big), 0, 255).astype(np.uint8)
    size = (48, 64)
    world = torch.softmax(torch.from_numpy(cvblur(rng.standard_normal((C, 60, 120)).astype(np.float32)) * 6), 0)
    importance = Importance(1.5, Clock.FRAMES)
    s = MotionSmoother(K, C, size, importance, CPU, options=MotionOptions(similarity_sigma=0.0))
    plain = TemporalSmoother(K, C, size, importance, CPU)
    for t in range(5):
        x0 = 40 - 3 * t
        image = np.repeat(texture[6:54, x0 : x0 + 64, None], 3, axis=2)
        view = world[:, 6:54, x0 : x0 + 64].contiguous()
        maps = s.push(view, 0.1 * t, t, image=image)
        smeared = plain.push(view, 0.1 * t, t)
    interior = (slice(None), slice(8, 40), slice(8, 56))
    aligned_error = float((maps.probs - view)[interior].abs().mean())
    smeared_error = float((smeared.probs - view)[interior].abs().mean())
    assert aligned_error < 0.25 * smeared_error


def cvblur(values: np.ndarray) -> np.ndarray:
    import cv2

    if values.ndim == 3:
        return np.stack([cvblur(v) for v in values])
    return cv2.GaussianBlur(values, (0, 0), 3.0) * 3.0


def test_a_scene_cut_resets_the_buffer() -> None:
    probs = random_probs(4, seed=5)
    grey = np.zeros((H, W), np.float32)
    s = smoother(ShiftEstimator([(0, 0)] * 4, matched=[1.0, 1.0, 0.05, 1.0]))
    s.push(probs[0], 0.0, 0, image=grey)
    s.push(probs[1], 0.1, 1, image=grey)
    maps = s.push(probs[2], 0.2, 2, image=grey)
    assert s.last_cut and s.cuts == 1 and len(s) == 1
    torch.testing.assert_close(maps.probs, probs[2])
    s.push(probs[3], 0.3, 3, image=grey)
    assert not s.last_cut and len(s) == 2


def test_flow_estimator_tells_a_cut_from_a_pan() -> None:
    rng = np.random.default_rng(6)
    estimator = FlowEstimator((48, 64))
    a = np.clip(128 + 60 * cvblur(rng.standard_normal((48, 80)).astype(np.float32)), 0, 255).astype(np.uint8)
    b = np.clip(128 + 60 * cvblur(rng.standard_normal((48, 80)).astype(np.float32)), 0, 255).astype(np.uint8)
    first, panned, other = (estimator.grey(np.repeat(x[:, :, None], 3, 2)) for x in (a[:, 8:72], a[:, 6:70], b[:, :64]))
    pan = estimator.motion(first, panned)
    assert pan.matched > 0.8
    assert float(np.median(pan.flow[0][pan.valid > 0])) == pytest.approx(-2.0, abs=0.5)  # content moved right
    assert estimator.motion(first, other).matched < 0.3


def test_session_needs_the_image_only_when_motion_is_on() -> None:
    probs = random_probs(2, seed=7)
    plain = StreamSession("s", StreamConfig(), C, (H, W), CPU)
    plain.consume(probs[0], 0.0)  # existing callers keep working
    motion = StreamSession("m", StreamConfig(motion=True), C, (H, W), CPU)
    assert motion.needs_image and not plain.needs_image
    with pytest.raises(MissingImageError):
        motion.consume(probs[0], 0.0)
    image = np.zeros((30, 40, 3), np.uint8)
    motion.consume(probs[0], 0.1, image=image)
    maps = motion.consume(probs[1], 0.2, image=image)
    assert motion.buffer_len == 2 and float(maps.mutual_info.min()) >= 0.0
    motion.reconfigure(motion=False)
    assert motion.buffer_len == 0 and not motion.needs_image


def test_pipeline_passes_the_frame_to_a_motion_stream(tiny_segmenter: TorchSegmenter, rgb_frame: np.ndarray) -> None:
    pipeline = StreamPipeline(tiny_segmenter, StreamConfig(motion=True))
    for t in range(3):
        maps = pipeline.process(np.roll(rgb_frame, 2 * t, axis=1), 0.1 * t)
    assert maps.probs.shape == (4, 32, 48)
    assert pipeline.session.buffer_len == 3


def test_flow_is_plain_dis_with_no_initial_flow() -> None:
    """DIS takes any output array it is given as an initial flow; the estimator must not pass one."""
    import cv2

    rng = np.random.default_rng(9)
    a = np.clip(128 + 60 * cvblur(rng.standard_normal((48, 80)).astype(np.float32)), 0, 255).astype(np.uint8)
    estimator = FlowEstimator((48, 64))
    first, second = (estimator.grey(np.repeat(x[:, :, None], 3, 2)) for x in (a[:, 8:72], a[:, 5:69]))
    expected = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST).calc(second.small, first.small, None)
    for _ in range(2):
        np.testing.assert_array_equal(estimator.motion(first, second).flow, expected.transpose(2, 0, 1))
