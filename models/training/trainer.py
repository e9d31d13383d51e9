"""The training loop: cross-entropy on augmented crops, AdamW with a cosine schedule, fixed seeds."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from models.meta import ModelMeta
from models.preprocess import FramePreprocessor
from models.training.dataset import BatchSampler, FrameSet


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000
    batch_size: int = 8
    crop: tuple[int, int] = (128, 160)
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int | None = None
    eval_every: int = 250


@dataclass
class TrainResult:
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def evaluate_pixels(model: nn.Module, meta: ModelMeta, frames: FrameSet, limit: int = 32) -> dict[str, float]:
    """Deterministic (dropout off) pixel accuracy, mIoU and NLL on up to ``limit`` frames."""
    model.eval()
    prep = FramePreprocessor(meta, torch.device("cpu"))
    c = meta.num_classes
    confusion = torch.zeros(c, c, dtype=torch.long)
    nll_sum, count = 0.0, 0
    with torch.inference_mode():
        for i in range(0, min(limit, len(frames)), 8):
            images = list(frames.images[i : min(i + 8, limit)])
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
    model: nn.Module, meta: ModelMeta, frames: FrameSet, config: TrainConfig, val: FrameSet | None = None
) -> TrainResult:
    """Train ``model`` in place; BN and dropout in train mode; returns the loss/metric history."""
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    sampler = BatchSampler(frames, config.batch_size, config.crop, config.seed)
    prep = FramePreprocessor(meta, torch.device("cpu"))
    prep.size = config.crop  # crops are already at the crop size: no resize
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    warmup = max(1, config.steps // 50)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, config.steps - warmup)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lr_at)
    result = TrainResult()
    start = time.perf_counter()
    running = None
    bar = tqdm(range(config.steps), desc="training", unit="step", mininterval=1.0 if sys.stderr.isatty() else 30.0)
    for step in bar:
        model.train()
        images, labels = sampler.next()
        logits = model(prep(list(images.numpy())))
        loss = F.cross_entropy(logits, labels, ignore_index=255)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        value = loss.item()
        running = value if running is None else 0.98 * running + 0.02 * value
        bar.set_postfix(loss=f"{running:.3f}", lr=f"{schedule.get_last_lr()[0]:.2e}")
        last = step + 1 == config.steps
        if val is not None and (last or (config.eval_every and (step + 1) % config.eval_every == 0)):
            metrics = evaluate_pixels(model, meta, val)
            entry = {"step": step + 1, "loss": running, **{f"val_{k}": v for k, v in metrics.items()}}
            result.history.append(entry)
            bar.write(
                f"step {step + 1}: loss {running:.3f}  val acc {metrics['acc']:.3f}  "
                f"mIoU {metrics['miou']:.3f}  NLL {metrics['nll']:.3f}"
            )
    model.eval()
    result.seconds = time.perf_counter() - start
    return result
