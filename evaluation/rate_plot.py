"""The MC-rate ablation as a picture (OpenCV only): in-sample NLL of vqbnn at its fitted temperature
against the inference MC dropout rate, one line per variant (``vqseg calibrate`` reports), with the
calibrated dnn and vqdnn as horizontal references."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models.training.plot_axes import FONT, draw_axes

_W, _H = 760, 460
_LEFT, _RIGHT, _TOP, _BOTTOM = 70, 230, 50, 50
_PALETTE = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148), (75, 86, 140)]


def _series(report: Mapping[str, Any], mode: str) -> list[tuple[float, float]]:
    rows = report["modes"].get(mode, {}).get("by_rate", [])
    return sorted((float(r["rate"]), float(r["nll"])) for r in rows)


def render_rate_ablation(reports: Mapping[str, Mapping[str, Any]], mode: str = "vqbnn") -> np.ndarray:
    """``reports``: variant label -> a calibration report (JSON form)."""
    series = {label: _series(r, mode) for label, r in reports.items()}
    series = {k: v for k, v in series.items() if v}
    if not series:
        raise ValueError(f"no {mode} rate search in the reports")
    first = next(iter(reports.values()))["modes"]
    refs = {m: float(first[m]["after"]["nll"]) for m in ("dnn", "vqdnn") if m in first}
    values = [n for s in series.values() for _, n in s] + list(refs.values())
    lo, hi = min(values), min(max(values), min(values) + 0.08)
    lo, hi = lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)
    r_max = max(r for s in series.values() for r, _ in s)
    img = np.full((_H, _W, 3), 255, np.uint8)
    axes = draw_axes(img, (_LEFT, _RIGHT, _TOP, _BOTTOM), r_max, (lo, hi),
                     f"{mode} NLL (fitted T) vs inference MC rate", "MC dropout rate",
                     lambda r: f"{r:.2f}", lambda v: f"{v:.3f}")
    px, py, x0, x1, y1 = axes.px, axes.py, axes.x0, axes.x1, axes.y1
    for name, value in refs.items():
        cv2.line(img, (x0, py(value)), (x1, py(value)), (120, 120, 120), 1, cv2.LINE_AA)
        cv2.putText(img, f"{name} {value:.4f}", (x1 - 110, py(value) - 4), FONT, 0.4, (90, 90, 90), 1, cv2.LINE_AA)
    for row, (label, points) in enumerate(series.items()):
        colour = _PALETTE[row % len(_PALETTE)]
        pts = np.array([(px(r), py(n)) for r, n in points], np.int32)
        cv2.polylines(img, [pts], False, colour, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, (int(p[0]), int(p[1])), 3, colour, -1, cv2.LINE_AA)
        best = min(n for _, n in points)
        cv2.putText(img, f"{label}: {best:.4f}", (x1 + 10, y1 + 20 + 20 * row), FONT, 0.42, colour, 1, cv2.LINE_AA)
    return img


def write_rate_ablation(path: str | Path, report_paths: Sequence[Path], labels: Sequence[str] | None = None) -> Path:
    """Read calibration JSON reports and write the picture to ``path``."""
    labels = list(labels) if labels else [p.name.split(".")[0] for p in report_paths]
    reports = {label: json.loads(p.read_text()) for label, p in zip(labels, report_paths, strict=True)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), render_rate_ablation(reports)):
        raise ValueError(f"cannot write {path}")
    return path
