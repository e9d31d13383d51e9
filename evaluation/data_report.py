"""The ``vqseg eval --data`` report: video sequences (every mode) and stills (dnn, bnn) of a labelled folder.

Same shape as the synthetic suite's report (``evaluation.report``): ``modes``, ``ratios``, ``targets``,
``config``, ``throughput``, ``per_sequence`` and ``reliability`` describe the video sequences, plus

- ``per_class_iou``: ``{mode: {class name: IoU}}`` over the sequences;
- ``stills``: ``{"frames", "modes", "per_class_iou", "reliability"}`` for the frames with no labelled
  neighbour (dnn and bnn only: with nothing to blend, vqdnn and vqbnn would repeat them), or null;
- ``data``: the folder, split, layout, camera rate, max gap, and each sequence's frames and span.

``targets`` are the real-video targets of issue 12 (vqbnn against dnn and bnn on the sequences).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evaluation.labelled_video import LabelledVideo
from evaluation.report import build_report, check_bound, ratio_of
from evaluation.runner import ModeRun
from evaluation.throughput import Throughput

DATA_TARGETS = {
    "vqbnn_nll_below_dnn": 0.05,  # relative NLL reduction vs dnn, at least
    "vqbnn_ece_below_dnn": 0.0,  # relative ECE reduction vs dnn, at least (no higher than dnn's)
    "vqbnn_flicker_over_dnn": 0.7,  # flicker ratio, at most
    "vqbnn_nll_over_bnn": 0.03,  # relative NLL excess over bnn(30), at most
    "vqbnn_over_dnn_fps": 0.95,  # at least
}


def check_data_targets(
    modes: Mapping[str, Mapping[str, float]], ratios: Mapping[str, float], samples: int
) -> dict[str, Any]:
    """The real-video targets, each skipped where a mode it needs did not run."""
    out: dict[str, Any] = {}
    vq, dnn, bnn = modes.get("vqbnn"), modes.get("dnn"), modes.get("bnn")
    if vq and dnn:
        out["vqbnn_nll_below_dnn"] = check_bound(
            1 - ratio_of(vq["nll"], dnn["nll"]), DATA_TARGETS["vqbnn_nll_below_dnn"], True
        )
        out["vqbnn_ece_below_dnn"] = check_bound(
            1 - ratio_of(vq["ece"], dnn["ece"]), DATA_TARGETS["vqbnn_ece_below_dnn"], True
        )
        out["vqbnn_flicker_over_dnn"] = check_bound(
            ratio_of(vq["flicker"], dnn["flicker"]), DATA_TARGETS["vqbnn_flicker_over_dnn"], False
        )
    if vq and bnn:
        note = None if samples == 30 else f"bnn ran with N={samples}, not the target's N=30"
        out["vqbnn_nll_over_bnn"] = check_bound(
            ratio_of(vq["nll"], bnn["nll"]) - 1, DATA_TARGETS["vqbnn_nll_over_bnn"], False, note
        )
    if "vqbnn_over_dnn_fps" in ratios:
        out["vqbnn_over_dnn_fps"] = check_bound(ratios["vqbnn_over_dnn_fps"], DATA_TARGETS["vqbnn_over_dnn_fps"], True)
    return out


def per_class_iou(runs: Mapping[str, ModeRun], class_names: Sequence[str]) -> dict[str, dict[str, float]]:
    """``{mode: {class: IoU}}`` (NaN for a class neither labelled nor predicted)."""
    out: dict[str, dict[str, float]] = {}
    for name, run in runs.items():
        if run.labelled_frames:
            out[name] = dict(zip(class_names, run.metrics.per_class_iou(), strict=True))
    return out


def describe_data(video: LabelledVideo, root: str, split: str, layout: str) -> dict[str, Any]:
    return {
        "root": root,
        "split": split,
        "layout": layout,
        "camera_fps": video.camera_fps,
        "max_gap": video.max_gap,
        "stills": len(video.stills),
        "sequence_frames": video.sequence_frames,
        "sequences": [
            {
                "name": run.name,
                "frames": len(run),
                "first": run.frames[0].file.stem,
                "last": run.frames[-1].file.stem,
                "seconds": run.frames[-1].timestamp - run.frames[0].timestamp,
            }
            for run in video.sequences
        ],
    }


def build_data_report(
    sequence_runs: Mapping[str, ModeRun],
    still_runs: Mapping[str, ModeRun],
    throughput: Throughput | None,
    config: Mapping[str, Any],
    class_names: Sequence[str],
    data: Mapping[str, Any],
) -> dict[str, Any]:
    """Assemble the report (see the module docstring)."""
    report = build_report(sequence_runs, throughput, config)
    report["targets"] = check_data_targets(report["modes"], report["ratios"], int(config.get("samples", 30)))
    report["per_class_iou"] = per_class_iou(sequence_runs, class_names)
    report["stills"] = None
    if still_runs:
        stills = build_report(still_runs, throughput, config)
        report["stills"] = {
            "frames": next(iter(still_runs.values())).labelled_frames,
            "modes": stills["modes"],
            "per_class_iou": per_class_iou(still_runs, class_names),
            "reliability": stills["reliability"],
        }
    report["data"] = dict(data)
    del report["real"]
    return report
