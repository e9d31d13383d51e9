"""Run the inference modes side by side over the same sequences, scoring and timing each.

Per sequence every mode gets its own fresh ``StreamPipeline`` (an empty ring buffer); frames are fed
in time order with their capture timestamps. For each frame the modes take turns (the order rotates
from frame to frame so no mode always runs on a warm or cold cache), and each mode's
``pipeline.process`` (prepare + forward pass(es) + blend + uncertainty maps) is timed with the
device synchronised, so the frames per second of all modes come from the same run. Scoring happens
outside the timed part, on the device: against labels resized (nearest) to the network's resolution,
or (``at_label_size``, for real labelled data) with the probabilities upsampled bilinearly to the
labels' own size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from evaluation.metrics import SegmentationMetrics
from evaluation.metrics.boundary import BoundaryAccuracy
from evaluation.suite import EvalSequence
from evaluation.timing import synchronize
from models import Segmenter
from streaming import Mode, StreamConfig, StreamPipeline, UncertaintyMaps, apply_variant, resolve_variant


@dataclass
class Snapshot:
    """One frame's outputs on the host, for pictures: maps at network resolution, image as captured."""

    image: np.ndarray
    labels: np.ndarray
    entropy: np.ndarray
    mutual_info: np.ndarray
    truth: np.ndarray | None = None

    @classmethod
    def capture(cls, image: np.ndarray, maps: UncertaintyMaps, truth: torch.Tensor | None) -> Snapshot:
        return cls(
            image=image,
            labels=maps.labels.cpu().numpy().astype(np.uint8),
            entropy=maps.entropy_normalised.clamp(0, 1).float().cpu().numpy(),
            mutual_info=maps.mutual_info_normalised.clamp(0, 1).float().cpu().numpy(),
            truth=None if truth is None else truth.cpu().numpy(),
        )


@dataclass
class ModeRun:
    """Everything one mode produced over the sequences of a run."""

    mode: Mode
    metrics: SegmentationMetrics = field(default_factory=SegmentationMetrics)
    per_sequence: dict[str, SegmentationMetrics] = field(default_factory=dict)
    seconds: float = 0.0
    frames: int = 0
    labelled_frames: int = 0
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    boundary: BoundaryAccuracy = field(default_factory=BoundaryAccuracy)
    per_sequence_boundary: dict[str, BoundaryAccuracy] = field(default_factory=dict)
    _entropy: list[torch.Tensor] = field(default_factory=list)
    _mutual_info: list[torch.Tensor] = field(default_factory=list)
    frame_sequence: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else math.nan

    def record(self, sequence: str, maps: UncertaintyMaps) -> None:
        """Keep the frame's mean normalised entropy and MI (device scalars: no sync per frame)."""
        self._entropy.append(maps.entropy_normalised.float().mean())
        self._mutual_info.append(maps.mutual_info_normalised.float().mean())
        self.frame_sequence.append(sequence)

    @property
    def frame_entropy(self) -> np.ndarray:
        """Per frame: mean normalised predictive entropy, in time order over all sequences."""
        return torch.stack(self._entropy).cpu().double().numpy() if self._entropy else np.zeros(0)

    @property
    def frame_mutual_info(self) -> np.ndarray:
        """Per frame: mean normalised mutual information."""
        return torch.stack(self._mutual_info).cpu().double().numpy() if self._mutual_info else np.zeros(0)

    def summary(self) -> dict[str, float]:
        """Metrics (fractions) when labelled, mean uncertainties, and this run's frames per second."""
        out: dict[str, float] = self.metrics.compute() if self.labelled_frames else {}
        if self.labelled_frames:
            out["boundary_acc"] = self.boundary.compute()
        entropy, mutual_info = self.frame_entropy, self.frame_mutual_info
        out["mean_entropy"] = float(entropy.mean()) if entropy.size else math.nan
        out["mean_mutual_info"] = float(mutual_info.mean()) if mutual_info.size else math.nan
        out["fps_eval_loop"] = self.fps
        out["frames"] = float(self.frames)
        return out


def snapshot_index(length: int) -> int:
    """The frame pictured per sequence: three quarters in, so buffers are full and past a mid-sequence cut."""
    return max(0, min(length - 1, (3 * length) // 4))


def at_size(probs: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(C, h, w)`` probabilities bilinearly resized to ``size`` (still distributions: a convex blend)."""
    if tuple(probs.shape[-2:]) == tuple(size):
        return probs
    return F.interpolate(probs[None].float(), size=size, mode="bilinear", align_corners=False)[0]


def _label_tensors(sequence: EvalSequence, device: torch.device) -> list[torch.Tensor] | None:
    if sequence.labels is None:
        return None
    return [torch.from_numpy(np.ascontiguousarray(label)).to(device) for label in sequence.labels]


def evaluate_modes(
    segmenter: Segmenter,
    sequences: Iterable[EvalSequence],
    modes: Sequence[Mode | str],
    config: StreamConfig,
    progress: bool = True,
    desc: str = "evaluating",
    *,
    at_label_size: bool = False,
    per_sequence: bool = True,
    snapshots: Container[str] | None = None,
    total: int | None = None,
) -> dict[str, ModeRun]:
    """Run every mode over every sequence; returns a ``ModeRun`` per mode name.

    ``modes`` are ``Mode``s or variant names (``vqbnn_motion``, ``vqbnn_spatial``, ...: see
    ``streaming.variants``). ``config`` gives tau, clock, window K, samples N and max_gap; each mode
    applies its variant to it.
    Sequences without labels (real clips) are run and timed, and their per-frame uncertainty kept,
    but not scored.

    ``sequences`` may be a generator (then pass ``total``, the frame count, for the progress bar), so
    that a large folder is read one sequence at a time. ``at_label_size`` scores at the labels'
    resolution (probabilities upsampled) instead of the network's; ``per_sequence=False`` keeps only
    the overall metrics (many stills); ``snapshots`` names the sequences pictured (default: all).
    """
    if not modes:
        raise ValueError("no modes to evaluate")
    device = segmenter.device
    names = [str(m) for m in modes]
    runs = {name: ModeRun(resolve_variant(name)["mode"]) for name in names}
    if total is None:
        sequences = list(sequences)
        total = sum(len(s) for s in sequences)
    bar = tqdm(total=total, desc=desc, unit="frame", disable=not progress, mininterval=1.0)
    for sequence in sequences:
        if at_label_size:
            labels = _label_tensors(sequence, device)
        else:
            labels = sequence.labels_at(segmenter.meta.input_size, device)
        pipelines = {n: StreamPipeline(segmenter, apply_variant(config, n), stream_id=sequence.name) for n in names}
        if labels is not None and per_sequence:
            for run in runs.values():
                run.per_sequence[sequence.name] = SegmentationMetrics()
                run.per_sequence_boundary[sequence.name] = BoundaryAccuracy()
        pictured = snapshot_index(len(sequence)) if snapshots is None or sequence.name in snapshots else -1
        bar.set_postfix_str(sequence.name)
        for i, (image, timestamp) in enumerate(zip(sequence.images, sequence.timestamps, strict=True)):
            shift = i % len(names)
            for name in (*names[shift:], *names[:shift]):
                run = runs[name]
                synchronize(device)
                start = time.perf_counter()
                maps = pipelines[name].process(image, timestamp)
                synchronize(device)
                run.seconds += time.perf_counter() - start
                run.frames += 1
                run.record(sequence.name, maps)
                truth = None if labels is None else labels[i]
                if truth is not None:
                    probs = at_size(maps.probs, tuple(truth.shape)) if at_label_size else maps.probs
                    predicted = probs.argmax(dim=0) if at_label_size else maps.labels
                    run.metrics.update(probs, truth)
                    run.boundary.update(predicted, truth)
                    if per_sequence:
                        run.per_sequence[sequence.name].update(probs, truth)
                        run.per_sequence_boundary[sequence.name].update(predicted, truth)
                    run.labelled_frames += 1
                if i == pictured:
                    run.snapshots[sequence.name] = Snapshot.capture(image, maps, truth)
            bar.update(1)
        for run in runs.values():
            run.metrics.update_sequence_boundary()
    bar.close()
    return runs
