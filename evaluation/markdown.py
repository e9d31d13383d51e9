"""The evaluation report as markdown tables: modes as rows, metrics as columns."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

# (key, header, scale, decimals): scale 100 shows a fraction in percent.
COLUMNS: tuple[tuple[str, str, float, int], ...] = (
    ("nll", "NLL ↓", 1.0, 3),
    ("acc", "Acc % ↑", 100.0, 1),
    ("miou", "mIoU % ↑", 100.0, 1),
    ("ece", "ECE % ↓", 100.0, 2),
    ("ece15", "ECE-15 % ↓", 100.0, 2),
    ("brier", "Brier ↓", 1.0, 4),
    ("acc90", "Acc-90 % ↑", 100.0, 1),
    ("unc90", "Unc-90 % ↑", 100.0, 1),
    ("auroc", "AUROC ↑", 1.0, 3),
    ("flicker", "Flicker % ↓", 100.0, 2),
    ("boundary_acc", "Bnd acc % ↑", 100.0, 1),
    ("fps", "fps ↑", 1.0, 1),
)


def fmt(value: Any, scale: float = 1.0, decimals: int = 3) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    return f"{float(value) * scale:.{decimals}f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def modes_table(modes: Mapping[str, Mapping[str, Any]]) -> str:
    rows = [[f"`{name}`", *(fmt(m.get(k), s, d) for k, _, s, d in COLUMNS)] for name, m in modes.items()]
    return table(["mode", *(h for _, h, _, _ in COLUMNS)], rows)


def targets_table(targets: Mapping[str, Mapping[str, Any]]) -> str:
    labels = {
        "vqbnn_nll_below_dnn": "vqbnn NLL below dnn (relative)",
        "vqbnn_ece_below_dnn": "vqbnn ECE below dnn (relative)",
        "vqbnn_nll_over_bnn": "vqbnn NLL above bnn (relative)",
        "vqbnn_over_dnn_fps": "vqbnn fps / dnn fps",
        "vqbnn_over_bnn_fps": "vqbnn fps / bnn fps",
        "vqbnn_flicker_over_dnn": "vqbnn flicker / dnn flicker",
    }
    rows = []
    for key, check in targets.items():
        met = {True: "yes", False: "**no**", None: "n/a"}[check.get("met")]
        value = check.get("value")
        ratio = key.endswith(("_fps", "_flicker_over_dnn"))
        shown = fmt(value, 1.0, 2) + "x" if ratio else fmt(value, 100.0, 1) + " %"
        target = str(check["target"])
        if not ratio:
            sign, bound = target.split()
            target = f"{sign} {float(bound) * 100:g} %"
        note = f" ({check['note']})" if check.get("note") else ""
        rows.append([labels.get(key, key), shown, target + note, met])
    return table(["target", "measured", "wanted", "met"], rows)


def per_sequence_table(per_sequence: Mapping[str, Mapping[str, Mapping[str, Any]]], key: str, scale: float) -> str:
    sequences = list(per_sequence)
    modes = list(next(iter(per_sequence.values()))) if sequences else []
    rows = [
        [f"`{m}`", *(fmt(per_sequence[s][m].get(key), scale, 2 if scale > 1 else 3) for s in sequences)] for m in modes
    ]
    return table(["mode", *sequences], rows)


def real_table(real_modes: Mapping[str, Mapping[str, Any]]) -> str:
    rows = []
    for name, r in real_modes.items():
        rows.append(
            [
                f"`{name}`",
                fmt(r["synthetic"]["mean_entropy"], 1, 3),
                fmt(r["real"]["mean_entropy"], 1, 3),
                fmt(r["synthetic"]["mean_mutual_info"], 1, 4),
                fmt(r["real"]["mean_mutual_info"], 1, 4),
                fmt(r["auroc_entropy"], 1, 3),
                fmt(r["auroc_mutual_info"], 1, 3),
            ]
        )
    header = [
        "mode",
        "entropy (synthetic)",
        "entropy (real)",
        "MI (synthetic)",
        "MI (real)",
        "AUROC real vs synthetic by entropy",
        "AUROC by MI",
    ]
    return table(header, rows)


def render_markdown(report: Mapping[str, Any]) -> str:
    """The whole report (JSON-safe form) as markdown."""
    cfg = report["config"]
    quick = " (**--quick**: a smoke test, not the result)" if cfg.get("quick") else ""
    out = [
        "## Held-out synthetic street scenes",
        "",
        f"Model `{cfg.get('model')}` ({cfg.get('backend')}, {cfg.get('device')}), network resolution "
        f"{cfg.get('network_size')}; K = {cfg.get('window')}, tau = {cfg.get('tau'):.4g} {cfg.get('clock')}, "
        f"bnn N = {cfg.get('samples')}; {cfg.get('sequences')} sequences x {cfg.get('frames')} frames at "
        f"{cfg.get('render_size')}, {cfg.get('fps')} fps{quick}.",
        "",
        modes_table(report["modes"]),
        "",
    ]
    ratios = report.get("ratios", {})
    if "vqbnn_over_dnn_fps" in ratios or "vqbnn_over_bnn_fps" in ratios:
        over_dnn = fmt(ratios.get("vqbnn_over_dnn_fps"), 1, 2)
        over_bnn = fmt(ratios.get("vqbnn_over_bnn_fps"), 1, 1)
        out += [
            f"Frames per second measured side by side in this run on `{cfg.get('device')}`: "
            f"vqbnn/dnn = {over_dnn}x, vqbnn/bnn = {over_bnn}x.",
            "",
        ]
    if report.get("targets"):
        out += ["### Targets", "", targets_table(report["targets"]), ""]
    if report.get("per_sequence"):
        out += ["### NLL per sequence", "", per_sequence_table(report["per_sequence"], "nll", 1.0), ""]
        out += ["### ECE % per sequence", "", per_sequence_table(report["per_sequence"], "ece", 100.0), ""]
        out += ["### mIoU % per sequence", "", per_sequence_table(report["per_sequence"], "miou", 100.0), ""]
        out += [
            "### Boundary accuracy % per sequence (pixels within 3 px of a label edge)",
            "",
            per_sequence_table(report["per_sequence"], "boundary_acc", 100.0),
            "",
        ]
    real = report.get("real")
    if real:
        out += ["## Real, unlabelled clips (out of domain)", ""]
        if real.get("modes"):
            clips = ", ".join(f"`{n}` ({c.get('frames', '?')} frames)" for n, c in real.get("clips", {}).items())
            out += [f"Clips: {clips}. Mean normalised entropy and mutual information per frame:", ""]
            out += [real_table(real["modes"]), ""]
        for name, why in (real.get("missing") or {}).items():
            out.append(f"- `{name}`: {why}")
        if real.get("missing"):
            out.append("")
    out.append(f"Wall time: {fmt(cfg.get('wall_seconds'), 1, 0)} s.")
    return "\n".join(out) + "\n"


def write_markdown(
    path: str | Path, report: Mapping[str, Any], render: Callable[[Mapping[str, Any]], str] = render_markdown
) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(report))
    return out
