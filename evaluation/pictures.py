"""Pictures of one frame per mode: frame | label overlay | entropy heat map | MI heat map (| truth).

Each mode is one row; all panels show what the network sees (the frame resized to its input size,
maps at its output resolution), scaled up for reading. Entropy is normalised by log C and shown on
[0, 1]; mutual information is normalised the same way but shown on [0, ``MI_SCALE``] because it is
typically an order of magnitude smaller. A class legend sits at the right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from evaluation.plots import write_reliability_diagram
from evaluation.runner import ModeRun, Snapshot
from streaming.render import heatmap, legend, overlay, side_by_side

MI_SCALE = 0.25
PANEL_HEIGHT = 240


def _panel_size(network_size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of one panel: the network's aspect ratio, ``PANEL_HEIGHT`` pixels tall."""
    h, w = network_size
    return round(w * PANEL_HEIGHT / h), PANEL_HEIGHT


def mode_row(mode: str, shot: Snapshot, palette: Sequence[Sequence[int]]) -> np.ndarray:
    """One mode's strip for one frame."""
    h, w = shot.labels.shape
    size = _panel_size((h, w))
    frame = cv2.resize(shot.image, size, interpolation=cv2.INTER_AREA)
    labels = cv2.resize(shot.labels, size, interpolation=cv2.INTER_NEAREST)
    panels = [
        frame,
        overlay(frame, labels, palette),
        heatmap(shot.entropy, size),
        heatmap(shot.mutual_info / MI_SCALE, size),
    ]
    captions = [f"{mode}: frame", f"{mode}: labels", f"{mode}: entropy (0-1)", f"{mode}: MI (0-{MI_SCALE:g})"]
    if shot.truth is not None:
        truth = cv2.resize(shot.truth, size, interpolation=cv2.INTER_NEAREST)
        panels.append(overlay(frame, truth, palette))
        captions.append("ground truth")
    return side_by_side(panels, captions)


def mode_strips(
    shots: Mapping[str, Snapshot], palette: Sequence[Sequence[int]], class_names: Sequence[str], title: str
) -> np.ndarray:
    """RGB picture: a title bar, one row per mode, a class legend on the right."""
    rows = [mode_row(mode, shot, palette) for mode, shot in shots.items()]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    body = np.concatenate(rows, axis=0)
    body = np.concatenate([body, legend(class_names, palette, body.shape[0])], axis=1)
    bar = np.full((30, body.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title, (8, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, body], axis=0)


def write_strips(
    path: str | Path,
    runs: Mapping[str, ModeRun],
    sequence: str,
    palette: Sequence[Sequence[int]],
    class_names: Sequence[str],
    title: str,
) -> Path | None:
    """Write the strips of ``sequence``'s pictured frame (None when no mode pictured it)."""
    shots = {mode: run.snapshots[sequence] for mode, run in runs.items() if sequence in run.snapshots}
    if not shots:
        return None
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    image = mode_strips(shots, palette, class_names, title)
    if not cv2.imwrite(str(out), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {out}")
    return out


def write_reliability(path: str | Path, runs: Mapping[str, ModeRun], title: str) -> Path:
    """The reliability diagram (10 bins, (lo, hi]) of every mode, side by side."""
    bins = {mode: run.metrics.reliability_bins() for mode, run in runs.items()}
    return write_reliability_diagram(path, bins, title)
