"""The evaluation report as one JSON-ready dict, the issue's targets checked against it, and writing it.

Shape (stable; other tools read it)::

    {"modes": {"dnn": {"nll", "acc", "miou", "ece", "ece15", "brier", "acc90", "unc90", "auroc",
                       "flicker", "fps", "fps_eval_loop", "mean_entropy", "mean_mutual_info", "frames"},
               "bnn": {...}, "vqdnn": {...}, "vqbnn": {...}},
     "ratios": {"vqbnn_over_dnn_fps", "vqbnn_over_bnn_fps", ...},
     "targets": {name: {"value", "target", "met"}},
     "config": {...}, "throughput": {...}, "per_sequence": {sequence: {mode: {...}}},
     "reliability": {mode: {"edges", "counts", "mean_confidence", "accuracy", "ece"}},
     "real": {...}}

Metrics are fractions (the markdown shows percentages); undefined values are ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluation.runner import ModeRun
from evaluation.throughput import Throughput

TARGETS = {
    "vqbnn_nll_below_dnn": 0.15,  # relative NLL reduction vs dnn, at least
    "vqbnn_ece_below_dnn": 0.40,  # relative ECE reduction vs dnn, at least
    "vqbnn_nll_over_bnn": 0.03,  # relative NLL excess over bnn(30), at most
    "vqbnn_over_dnn_fps": 0.95,  # at least
    "vqbnn_over_bnn_fps": 25.0,  # at least, with N = 30
}


def check_bound(value: float | None, bound: float, at_least: bool, note: str | None = None) -> dict[str, Any]:
    met = None if value is None or math.isnan(value) else (value >= bound if at_least else value <= bound)
    out: dict[str, Any] = {"value": value, "target": f"{'>=' if at_least else '<='} {bound:.3g}", "met": met}
    if note:
        out["note"] = note
    return out


def ratio_of(a: float, b: float) -> float:
    return a / b if b and not math.isnan(b) else math.nan


def check_targets(modes: Mapping[str, Mapping[str, float]], ratios: Mapping[str, float], samples: int) -> dict:
    """The issue's targets: vqbnn vs dnn and bnn on NLL, ECE and fps (skipped where a mode is missing)."""
    out: dict[str, Any] = {}
    vq, dnn, bnn = modes.get("vqbnn"), modes.get("dnn"), modes.get("bnn")
    if vq and dnn:
        nll_gain, ece_gain = 1 - ratio_of(vq["nll"], dnn["nll"]), 1 - ratio_of(vq["ece"], dnn["ece"])
        out["vqbnn_nll_below_dnn"] = check_bound(nll_gain, TARGETS["vqbnn_nll_below_dnn"], True)
        out["vqbnn_ece_below_dnn"] = check_bound(ece_gain, TARGETS["vqbnn_ece_below_dnn"], True)
    if vq and bnn:
        note = None if samples == 30 else f"bnn ran with N={samples}, not the target's N=30"
        out["vqbnn_nll_over_bnn"] = check_bound(
            ratio_of(vq["nll"], bnn["nll"]) - 1, TARGETS["vqbnn_nll_over_bnn"], False, note
        )
    if "vqbnn_over_dnn_fps" in ratios:
        out["vqbnn_over_dnn_fps"] = check_bound(ratios["vqbnn_over_dnn_fps"], TARGETS["vqbnn_over_dnn_fps"], True)
    if "vqbnn_over_bnn_fps" in ratios:
        bound = TARGETS["vqbnn_over_bnn_fps"] * samples / 30
        note = None if samples == 30 else f"bnn ran with N={samples}: target scaled to {bound:.3g}x"
        out["vqbnn_over_bnn_fps"] = check_bound(ratios["vqbnn_over_bnn_fps"], bound, True, note)
    return out


def build_report(
    runs: Mapping[str, ModeRun],
    throughput: Throughput | None,
    config: Mapping[str, Any],
    real: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the report; ``fps`` per mode comes from ``throughput`` when measured, else the eval loop."""
    fps = throughput.fps if throughput is not None else {}
    modes: dict[str, dict[str, float]] = {}
    for name, run in runs.items():
        summary = run.summary()
        summary["fps"] = fps.get(name, summary["fps_eval_loop"])
        modes[name] = summary
    loop_fps = {name: m["fps_eval_loop"] for name, m in modes.items()}
    ratios = dict(throughput.ratios) if throughput is not None else {}
    for other in ("dnn", "bnn"):
        if "vqbnn" in loop_fps and other in loop_fps:
            ratios[f"eval_loop_vqbnn_over_{other}_fps"] = ratio_of(loop_fps["vqbnn"], loop_fps[other])
            ratios.setdefault(f"vqbnn_over_{other}_fps", ratios[f"eval_loop_vqbnn_over_{other}_fps"])
    sequences = list(next(iter(runs.values())).per_sequence) if runs else []
    report: dict[str, Any] = {
        "modes": modes,
        "ratios": ratios,
        "targets": check_targets(modes, ratios, int(config.get("samples", 30))),
        "config": dict(config),
        "throughput": None if throughput is None else throughput.to_dict(),
        "per_sequence": {s: {n: _sequence_scores(r, s) for n, r in runs.items()} for s in sequences},
        "reliability": {name: run.metrics.reliability_bins().to_dict() for name, run in runs.items()},
        "real": dict(real) if real is not None else None,
    }
    return report


def _sequence_scores(run: ModeRun, sequence: str) -> dict[str, float]:
    scores = run.per_sequence[sequence].compute()
    boundary = run.per_sequence_boundary.get(sequence)
    if boundary is not None:
        scores["boundary_acc"] = boundary.compute()
    return scores


def json_safe(value: Any) -> Any:
    """NaN and infinities become ``None`` (standard JSON has no NaN); tuples become lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | Path, report: Mapping[str, Any]) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(json_safe(report), indent=2, allow_nan=False) + "\n")
    return out
