"""The ``vqseg eval --data`` report as markdown: sequences, targets, per-class IoU, stills."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evaluation.markdown import fmt, modes_table, per_sequence_table, table, targets_table

MAX_SEQUENCE_COLUMNS = 8


def per_class_table(per_class: Mapping[str, Mapping[str, Any]]) -> str:
    """Modes as rows, classes as columns, IoU in percent."""
    classes = list(next(iter(per_class.values()))) if per_class else []
    rows = [[f"`{mode}`", *(fmt(iou.get(c), 100.0, 1) for c in classes)] for mode, iou in per_class.items()]
    return table(["mode", *classes], rows)


def _calibration_note(cfg: Mapping[str, Any]) -> str:
    temperatures = cfg.get("temperatures") or {}
    rates = cfg.get("mc_rates") or {}
    mc = ""
    if rates:
        mc = "; MC dropout rate " + ", ".join(f"{m} {r:.3g}" for m, r in sorted(rates.items()))
        mc += f", vqbnn samples per frame {cfg.get('vqbnn_samples', 1)}"
    if not temperatures:
        return "uncalibrated (T = 1 in every mode)" + mc
    return "temperatures applied: " + ", ".join(f"{m} {t:.3f}" for m, t in sorted(temperatures.items())) + mc


def render_data_markdown(report: Mapping[str, Any]) -> str:
    """The whole ``--data`` report (JSON-safe form) as markdown."""
    cfg, data = report["config"], report["data"]
    quick = " (**--quick**: a smoke test, not the result)" if cfg.get("quick") else ""
    out = [
        f"## Labelled video: `{data['root']}`, split `{data['split']}` ({data['layout']})",
        "",
        f"Model `{cfg.get('model')}` ({cfg.get('backend')}, {cfg.get('device')}), network resolution "
        f"{cfg.get('network_size')}, {_calibration_note(cfg)}; K = {cfg.get('window')}, "
        f"tau = {cfg.get('tau'):.4g} {cfg.get('clock')}, bnn N = {cfg.get('samples')}; frames timestamped "
        f"at {data['camera_fps']:g} Hz from their numbers, sequences split at gaps over {data['max_gap']:g} s; "
        f"scored at the labels' resolution{quick}.",
        "",
    ]
    sequences = data.get("sequences") or []
    if sequences:
        names = ", ".join(f"`{s['name']}` ({s['frames']} frames, {s['seconds']:.2f} s)" for s in sequences[:10])
        more = f" and {len(sequences) - 10} more" if len(sequences) > 10 else ""
        out += [
            f"### Sequences: {len(sequences)}, {data['sequence_frames']} frames",
            "",
            f"{names}{more}.",
            "",
            modes_table(report["modes"]),
            "",
        ]
        ratios = report.get("ratios", {})
        if "vqbnn_over_dnn_fps" in ratios or "vqbnn_over_bnn_fps" in ratios:
            out += [
                f"Frames per second measured side by side in this run on `{cfg.get('device')}`: "
                f"vqbnn/dnn = {fmt(ratios.get('vqbnn_over_dnn_fps'), 1, 2)}x, "
                f"vqbnn/bnn = {fmt(ratios.get('vqbnn_over_bnn_fps'), 1, 1)}x.",
                "",
            ]
        if report.get("targets"):
            out += ["### Targets (real video)", "", targets_table(report["targets"]), ""]
        if report.get("per_class_iou"):
            out += ["### IoU % per class (sequences)", "", per_class_table(report["per_class_iou"]), ""]
        per_sequence = report.get("per_sequence") or {}
        if 1 < len(per_sequence) <= MAX_SEQUENCE_COLUMNS:
            out += ["### NLL per sequence", "", per_sequence_table(per_sequence, "nll", 1.0), ""]
            out += ["### ECE % per sequence", "", per_sequence_table(per_sequence, "ece", 100.0), ""]
    stills = report.get("stills")
    if stills:
        title = f"### Stills: {stills['frames']} frames with no labelled neighbour"
        out += [title, "", modes_table(stills["modes"]), ""]
        if stills.get("per_class_iou"):
            out += ["### IoU % per class (stills)", "", per_class_table(stills["per_class_iou"]), ""]
    out.append(f"Wall time: {fmt(cfg.get('wall_seconds'), 1, 0)} s.")
    return "\n".join(out) + "\n"
