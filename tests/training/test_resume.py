"""Resumable training: a run cut by its time budget and resumed ends exactly where an uncut run ends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.checkpoint import build_model
from models.meta import ModelMeta
from models.training.dataset import FrameSet, class_weights, mix_frame_sets
from models.training.trainer import TrainConfig, train


def _frames(seed: int, n: int = 6) -> FrameSet:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, (n, 24, 32)).astype(np.uint8)
    images = (labels[..., None] * 70 + rng.integers(0, 30, (n, 24, 32, 3))).astype(np.uint8)
    return FrameSet(images, labels, ("a", "b", "c"), ((0, 0, 0), (1, 1, 1), (2, 2, 2)))


def _model(meta: ModelMeta) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(meta)


META = ModelMeta("bayesian_unet", ("a", "b", "c"), ((0, 0, 0), (1, 1, 1), (2, 2, 2)), (24, 32), dropout=0.2,
                 arch_options={"width": 4})


def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    frames, val = _frames(0), _frames(1, 3)
    base = {"steps": 6, "batch_size": 2, "crop": (16, 24), "threads": 1, "eval_every": 3}
    whole = _model(META)
    train(whole, META, frames, TrainConfig(**base), val)

    state = tmp_path / "run.resume"
    cut = _model(META)
    first = train(cut, META, frames, TrainConfig(**base, time_budget=0.0, resume_file=state), val)
    assert not first.finished and first.steps_done == 1 and state.is_file()
    resumed = _model(META)  # a fresh process: new weights, restored from the state file
    second = train(resumed, META, frames, TrainConfig(**base, resume_file=state, resume=True), val)
    assert second.finished and second.steps_done == 6 and not state.exists()
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
    assert [h["step"] for h in second.history] == [3, 6]


def test_resuming_with_other_settings_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "run.resume"
    config = {"steps": 4, "batch_size": 2, "crop": (16, 24), "threads": 1, "eval_every": 0, "resume_file": state}
    train(_model(META), META, _frames(0), TrainConfig(**config, time_budget=0.0))
    with pytest.raises(ValueError, match=r"other settings.*lr"):
        train(_model(META), META, _frames(0), TrainConfig(**{**config, "lr": 1e-4}, resume=True))


def test_class_weights_balance_rare_classes_and_keep_the_mean_pixel_weight() -> None:
    freq = np.array([0.6, 0.3, 0.1])
    median = class_weights(freq, "median")
    assert median is not None and median[2] > median[1] > median[0]
    np.testing.assert_allclose((median * freq).sum(), 1.0)
    sqrt = class_weights(freq, "sqrt")
    assert sqrt is not None and sqrt[2] / sqrt[0] == pytest.approx(np.sqrt(median[2] / median[0]))
    assert class_weights(freq, "none") is None


def test_mixing_gives_the_extra_set_its_share_of_draws() -> None:
    both, weights = mix_frame_sets(_frames(0, 6), _frames(1, 2), 0.25)
    assert len(both) == 8
    np.testing.assert_allclose(weights[6:].sum(), 0.25)
    np.testing.assert_allclose(weights.sum(), 1.0)



def _rates_seen(model: torch.nn.Module, config: TrainConfig, frames: FrameSet) -> list[float]:
    """The learning rate of every step a run takes (read off the optimiser as each step begins)."""
    seen: list[float] = []
    original = torch.optim.AdamW.step

    def spy(self: torch.optim.Optimizer, *args: object, **kwargs: object) -> object:
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    torch.optim.AdamW.step = spy  # type: ignore[method-assign]
    try:
        train(model, META, frames, config)
    finally:
        torch.optim.AdamW.step = original  # type: ignore[method-assign]
    return seen


BASE = {"steps": 20, "batch_size": 2, "crop": (16, 24), "threads": 1, "eval_every": 0, "lr": 1e-2}


def _long_run_cut_at_step_2(state: Path) -> None:
    for _ in range(2):  # two invocations, each stopped by its time budget after one step
        train(_model(META), META, _frames(0), TrainConfig(**BASE, time_budget=0.0, resume_file=state, resume=True))


def test_a_forked_run_finishes_early_on_a_cosine_from_the_rate_it_had(tmp_path: Path) -> None:
    frames = _frames(0)
    full = _rates_seen(_model(META), TrainConfig(**BASE), frames)
    assert len(full) == 20
    long_run = tmp_path / "long.resume"
    _long_run_cut_at_step_2(long_run)

    fork = tmp_path / "short.resume"
    rates = _rates_seen(_model(META), TrainConfig(**BASE, resume_file=fork, resume_from=long_run, finish_at=8), frames)
    assert len(rates) == 6  # steps 2..7, then done
    expected = [full[2] * 0.5 * (1 + np.cos(np.pi * k / 6)) for k in range(6)]
    np.testing.assert_allclose(rates, expected, rtol=1e-6)  # from the long run's rate at step 2 down towards 0
    assert long_run.is_file() and not fork.exists()  # the long run is untouched; the fork has finished


def test_a_finishing_run_resumes_exactly_and_only_with_its_finish(tmp_path: Path) -> None:
    frames = _frames(0)
    long_run = tmp_path / "long.resume"
    _long_run_cut_at_step_2(long_run)
    whole = _model(META)
    done = train(whole, META, frames, TrainConfig(**BASE, resume_file=tmp_path / "a.resume", resume_from=long_run,
                                                  finish_at=6))
    assert done.finished and done.steps_done == 6 and done.finish is not None and done.finish["from_step"] == 2

    fork = tmp_path / "b.resume"
    config = TrainConfig(**BASE, resume_file=fork, resume_from=long_run, finish_at=6)
    cut = train(_model(META), META, frames, TrainConfig(**{**config.__dict__, "time_budget": 0.0}))
    assert not cut.finished and cut.steps_done == 3 and fork.is_file()
    with pytest.raises(ValueError, match="finishing at step 6"):
        train(_model(META), META, frames, TrainConfig(**{**config.__dict__, "finish_at": 10}))
    with pytest.raises(ValueError, match="finishing at step 6"):
        train(_model(META), META, frames, TrainConfig(**{**config.__dict__, "finish_at": None}))
    resumed = _model(META)
    second = train(resumed, META, frames, config)
    assert second.finished and second.steps_done == 6
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)


def test_finishing_early_needs_a_started_run_and_a_step_ahead(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shortens a run that has started"):
        train(_model(META), META, _frames(0), TrainConfig(**BASE, finish_at=5))
    long_run = tmp_path / "long.resume"
    _long_run_cut_at_step_2(long_run)
    for bad in (2, 21):
        with pytest.raises(ValueError, match="must lie after the resumed step 2"):
            train(_model(META), META, _frames(0), TrainConfig(**BASE, resume_file=long_run, resume=True, finish_at=bad))
