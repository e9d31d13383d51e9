"""The training loop: (class-weighted) cross-entropy on augmented crops, AdamW with a cosine schedule.

Resumable: every ``checkpoint_every`` steps, and when ``time_budget`` seconds have passed, the whole
state goes to ``resume_file``; a run started with the same settings and ``resume=True`` continues from
it, batch for batch. ``TrainResult.finished`` says whether all ``steps`` ran.

A long run can be finished early on purpose: ``finish_at`` (given when resuming) ends it at that step,
the learning rate falling on a cosine from its value at the resumed step to 0 there. The shortened
finish is part of the saved state, so a finishing run resumes with the same ``finish_at`` only.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from models.meta import ModelMeta
from models.preprocess import FramePreprocessor
from models.training.dataset import BatchSampler, FrameSet
from models.training.resume import TrainState, load_train_state, save_train_state


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000
    batch_size: int = 8
    crop: tuple[int, int] = (128, 160)
    zoom: tuple[float, float] = (0.9, 1.4)
    blur: float = 0.0
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int | None = None
    eval_every: int = 250
    checkpoint_every: int = 0
    time_budget: float | None = None  # seconds of this invocation; None = until done
    resume_file: Path | None = None
    resume: bool = False
    resume_from: Path | None = None  # another run's state to start from while resume_file does not exist (a fork)
    finish_at: int | None = None  # end a resumed run at this step (< steps), annealing the rate from where it is
    freeze_bn: bool = False  # batch norm keeps its running statistics (fine-tuning on few, similar frames)

    def fingerprint(self) -> dict[str, object]:
        """The settings a resumed run must share with the run it continues."""
        data = asdict(self)
        for key in ("threads", "eval_every", "checkpoint_every", "time_budget", "resume_file", "resume",
                    "resume_from", "finish_at"):
            data.pop(key)
        data["crop"] = list(self.crop)
        data["zoom"] = list(self.zoom)
        if self.zoom == (0.9, 1.4) and self.blur == 0.0:  # states written before these options existed
            data.pop("zoom")
            data.pop("blur")
        if not self.freeze_bn:  # runs from before the option existed resume as they were
            data.pop("freeze_bn")
        return data


@dataclass
class TrainResult:
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    steps_done: int = 0
    finished: bool = True
    finish: dict[str, float] | None = None  # the shortened finish, when the run was finished early


def evaluate_pixels(model: nn.Module, meta: ModelMeta, frames: FrameSet, limit: int | None = None) -> dict[str, float]:
    """Deterministic (dropout off) pixel accuracy, mIoU and NLL on all frames (or the first ``limit``)."""
    model.eval()
    prep = FramePreprocessor(meta, torch.device("cpu"))
    c = meta.num_classes
    n = len(frames) if limit is None else min(limit, len(frames))
    confusion = torch.zeros(c, c, dtype=torch.long)
    nll_sum, count = 0.0, 0
    with torch.inference_mode():
        for i in range(0, n, 8):
            images = list(frames.images[i : min(i + 8, n)])
            target = torch.from_numpy(frames.labels[i : i + len(images)]).long()
            target = F.interpolate(target[:, None].float(), size=meta.input_size, mode="nearest")[:, 0].long()
            logits = model(prep(images))
            valid = target != 255
            nll_sum += float(F.cross_entropy(logits, target, ignore_index=255, reduction="sum"))
            count += int(valid.sum())
            pred = logits.argmax(1)
            confusion += torch.bincount(target[valid] * c + pred[valid], minlength=c * c).view(c, c)
    inter = confusion.diag().double()
    union = confusion.sum(0).double() + confusion.sum(1).double() - inter
    iou = inter[union > 0] / union[union > 0]
    return {
        "acc": float(inter.sum() / confusion.sum().clamp_min(1)),
        "miou": float(iou.mean()) if len(iou) else float("nan"),
        "nll": nll_sum / max(1, count),
    }


def train(
    model: nn.Module,
    meta: ModelMeta,
    frames: FrameSet,
    config: TrainConfig,
    val: FrameSet | None = None,
    sample_weights: np.ndarray | None = None,
    loss_weights: np.ndarray | None = None,
) -> TrainResult:
    """Train ``model`` in place (BN and dropout in train mode); returns the loss/metric history."""
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    sampler = BatchSampler(
        frames, config.batch_size, config.crop, config.seed, weights=sample_weights, zoom=config.zoom, blur=config.blur
    )
    prep = FramePreprocessor(meta, torch.device("cpu"))
    prep.size = config.crop  # crops are already at the crop size: no resize
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    warmup = max(1, config.steps // 50)

    def planned(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, config.steps - warmup)))

    finish: dict[str, float] = {}  # filled when the run is finishing early: from_step, at, factor

    def lr_at(step: int) -> float:
        if not finish or step < finish["from_step"]:
            return planned(step)
        span = max(1.0, finish["at"] - finish["from_step"])
        return finish["factor"] * 0.5 * (1 + math.cos(math.pi * (step - finish["from_step"]) / span))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lr_at)
    fingerprint = {**config.fingerprint(), "frames": len(frames), "loss_weights": _rounded(loss_weights)}
    state = TrainState(fingerprint=fingerprint)
    source = _state_to_resume(config)
    if source is not None:
        state, sampler_state = load_train_state(source, fingerprint, model, optimiser, schedule)
        sampler.restore(sampler_state)
    finish.update(_finish(config, state, planned))
    state.finish = dict(finish) or None
    end = int(finish["at"]) if finish else config.steps
    weight = None if loss_weights is None else torch.as_tensor(loss_weights, dtype=torch.float32)

    def save() -> None:
        if config.resume_file is not None:
            save_train_state(config.resume_file, state, model, optimiser, schedule, sampler.state())

    start = time.perf_counter()
    seconds_before = state.seconds
    bar = tqdm(
        range(state.step, end),
        initial=state.step,
        total=end,
        desc="training",
        unit="step",
        mininterval=1.0 if sys.stderr.isatty() else 30.0,
    )
    finished = True
    for step in bar:
        model.train()
        if config.freeze_bn:
            _freeze_batch_norm(model)
        images, labels = sampler.next()
        logits = model(prep(list(images.numpy())))
        loss = F.cross_entropy(logits, labels, weight=weight, ignore_index=255)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        value = loss.item()
        state.running_loss = value if state.running_loss is None else 0.98 * state.running_loss + 0.02 * value
        state.step = step + 1
        state.seconds = seconds_before + time.perf_counter() - start
        bar.set_postfix(loss=f"{state.running_loss:.3f}", lr=f"{schedule.get_last_lr()[0]:.2e}", refresh=False)
        last = state.step == end
        if val is not None and (last or (config.eval_every and state.step % config.eval_every == 0)):
            metrics = evaluate_pixels(model, meta, val)
            entry = {"step": state.step, "loss": state.running_loss, "seconds": round(state.seconds, 1)}
            entry.update({f"val_{k}": v for k, v in metrics.items()})
            state.history.append(entry)
            bar.write(
                f"step {state.step}: loss {state.running_loss:.3f}  val acc {metrics['acc']:.3f}  "
                f"mIoU {metrics['miou']:.3f}  NLL {metrics['nll']:.3f}"
            )
        if config.checkpoint_every and state.step % config.checkpoint_every == 0 and not last:
            save()
        if config.time_budget is not None and time.perf_counter() - start >= config.time_budget and not last:
            save()
            finished = False
            bar.write(f"time budget spent at step {state.step}/{end}: state saved to {config.resume_file}")
            break
    bar.close()
    if finished and config.resume_file is not None:
        config.resume_file.unlink(missing_ok=True)  # the run is complete: nothing left to resume
    model.eval()
    return TrainResult(state.history, state.seconds, state.step, finished, state.finish)


def _state_to_resume(config: TrainConfig) -> Path | None:
    """This run's own state if it exists, else the state it forks from (``resume_from``), else none."""
    if config.resume_file is not None and config.resume_file.is_file() and (config.resume or config.resume_from):
        return config.resume_file
    if config.resume_from is not None:
        if not config.resume_from.is_file():
            raise ValueError(f"{config.resume_from}: no training state to start from")
        return config.resume_from
    return None


def _finish(config: TrainConfig, state: TrainState, planned: Callable[[int], float]) -> dict[str, float]:
    """The shortened finish in force: the one saved with the state, or the one ``finish_at`` starts now."""
    if state.finish:
        if config.finish_at != state.finish["at"]:
            raise ValueError(
                f"this run is finishing at step {int(state.finish['at'])} (started at step "
                f"{int(state.finish['from_step'])}): resume it with finish_at={int(state.finish['at'])}"
            )
        return dict(state.finish)
    if config.finish_at is None:
        return {}
    if state.step == 0:
        raise ValueError("finish_at shortens a run that has started: resume one (or fork one with resume_from)")
    if not state.step < config.finish_at <= config.steps:
        raise ValueError(f"finish_at must lie after the resumed step {state.step} and at most {config.steps}")
    return {"from_step": float(state.step), "at": float(config.finish_at), "factor": planned(state.step)}


def _rounded(weights: np.ndarray | None) -> list[float] | None:
    return None if weights is None else [round(float(w), 5) for w in weights]


def _freeze_batch_norm(model: torch.nn.Module) -> None:
    """Batch norm in eval mode (running statistics, not the batch's), its scale and shift still learnt."""
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()
