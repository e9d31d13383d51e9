"""``vqseg calibrate``: fit a temperature per inference mode, and the MC dropout rate of the MC modes,
on labelled video; store them in a checkpoint (or a foreign model's sidecar).

Each mode's temperature (and rate) minimises the NLL of what that mode serves
(``evaluation.calibration.search``) on a labelled folder's frames, grouped into sequences as
``vqseg eval --data`` does. The network runs once per frame for the deterministic modes and, per
candidate rate, N MC passes per frame; each temperature search reuses those passes. The new
checkpoint is the old one with ``meta.temperatures`` and ``meta.mc_rates`` set (and
``meta.mc_samples["vqbnn"]`` with ``--vqbnn-samples``); the server, ``vqseg eval`` and the ONNX
backend (through ``vqseg export``) apply them. A model trained elsewhere gets its temperatures and, where
its MC rate can be set (``rate_refusal`` is None: ONNX Dropout nodes, ``.pt2`` programs, whole modules),
its MC rates written into its sidecar (``temperatures``, ``mc_rates``); one whose rate is fixed
(TorchScript, random-mask graphs) is fitted at its own rate. A tau / K suggestion is reported, not applied.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from evaluation.calibration.search import DEFAULT_RATES, search
from evaluation.label_map import map_labels
from evaluation.labelled_video import CAMERA_FPS, labelled_video, load_runs
from evaluation.markdown import fmt, table
from evaluation.report import json_safe
from models import CheckpointError, default_checkpoint_path, load_checkpoint, load_segmenter, save_checkpoint
from models.backend_torch import TorchSegmenter
from models.capabilities import capabilities_of, usable_modes
from models.devices import resolve_device
from models.foreign import is_foreign
from models.onnx.metadata import write_temperatures as write_onnx_temperatures
from models.sidecar import write_calibration
from models.sidecar_flags import add_description_flags, description_overrides
from models.training.layouts import find_labelled_files
from streaming import Mode, StreamConfig

DEFAULT_PIXELS = 2048


def _modes(text: str) -> list[Mode]:
    try:
        return [Mode(m.strip()) for m in text.split(",") if m.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"modes are {', '.join(m.value for m in Mode)}; got {text!r}") from None


def _rates(text: str) -> list[float]:
    if text.strip().lower() in ("", "none", "training"):
        return []
    try:
        rates = [float(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated rates, got {text!r}") from None
    if any(not 0.0 < r < 1.0 for r in rates):
        raise argparse.ArgumentTypeError(f"MC rates must be in (0, 1), got {text!r}")
    return rates


def configure(parser: argparse.ArgumentParser) -> None:
    default = StreamConfig()
    add = parser.add_argument
    add("--data", type=Path, required=True, help="labelled folder (SegNet CamVid, CamVid colour labels, Cityscapes)")
    add("--split", default="val", help="the folder's split (default val)")
    add("--model", type=Path, help="vqseg checkpoint (.pt) to calibrate (default: the embedded default model)")
    add("--out", type=Path, help="the calibrated checkpoint to write (.pt); for a model trained elsewhere, the "
        "sidecar to write (default: its sidecar, updated in place)")
    add("--label-map", help="when the model's classes are not the labels': a table {model class: label class} "
        "or a built-in one (cityscapes19-camvid11)")
    add("--modes", type=_modes, default=list(Mode), help="comma-separated (default dnn,bnn,vqdnn,vqbnn)")
    add("--samples", type=int, default=default.samples, help=f"bnn MC samples N (default {default.samples})")
    add("--tau", type=float, default=default.tau, help=f"importance time constant (default {default.tau:.4g} s)")
    add("--window", type=int, default=default.window, help=f"K, predictions blended (default {default.window})")
    add("--camera-fps", type=float, default=CAMERA_FPS, help=f"rate of the frame numbers (default {CAMERA_FPS:g})")
    add("--max-gap", type=float, default=default.max_gap, help="seconds that split a sequence (default 2)")
    add(
        "--pixels",
        type=int,
        default=DEFAULT_PIXELS,
        help=f"label pixels sampled per frame (the same ones in every frame of a sequence; default {DEFAULT_PIXELS})",
    )
    add(
        "--rates",
        type=_rates,
        default=list(DEFAULT_RATES),
        help="MC dropout rates searched for bnn/vqbnn (comma-separated; 'none': keep the training rate); "
        f"default {','.join(f'{r:g}' for r in DEFAULT_RATES)} plus the training rate (vqseg checkpoints, and "
        "foreign models whose rate can be set: the fitted rates go to the sidecar)",
    )
    add("--vqbnn-samples", type=int, help="MC samples vqbnn averages per frame (default: the model's, 1)")
    add("--device", default="cpu", help="cpu, cuda, auto (default cpu)")
    add("--seed", type=int, default=1, help="seeds the dropout masks")
    add("--json", type=Path, help="report path (default: OUT with suffix .calibration.json)")
    add("--markdown", type=Path, help="report path (default: OUT with suffix .calibration.md)")
    add("--threads", type=int, help="torch CPU threads")
    add("--no-progress", action="store_true", help="no progress bars")
    add_description_flags(parser)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    source = args.model or default_checkpoint_path()
    try:
        if not args.modes:
            raise ValueError("--modes names no mode")
        if args.pixels < 1:
            raise ValueError("--pixels must be at least 1")
        config = StreamConfig(tau=args.tau, window=args.window, samples=args.samples, max_gap=args.max_gap)
        foreign = bool(description_overrides(args)) or is_foreign(source, args.sidecar)
        model = None
        exported = not foreign and Path(source).suffix == ".onnx"  # vqseg export / vqseg import
        if foreign:  # a model trained elsewhere: its temperatures go to its sidecar
            segmenter: Any = load_segmenter(source, args.device, sidecar=args.sidecar,
                                            describe=description_overrides(args))
        elif exported:  # its temperatures go to a copy's metadata
            if args.out is None or args.out.suffix != ".onnx":
                raise ValueError("--out: the calibrated .onnx file to write")
            segmenter = load_segmenter(source, args.device, backend="onnx")
        else:
            if args.out is None:
                raise ValueError("--out: the calibrated checkpoint to write")
            model, meta = load_checkpoint(source)
            segmenter = TorchSegmenter(model, meta, resolve_device(args.device))
        meta = segmenter.meta
        fixed_rate = getattr(segmenter, "rate_refusal", None) if foreign else None  # before any label map
        own_rate = getattr(segmenter, "own_rate", "")
        folder = find_labelled_files(args.data, args.split)
        if args.label_map:
            segmenter = map_labels(segmenter, args.label_map, folder.codec.class_names, folder.codec.palette)
        if folder.codec.class_names != segmenter.meta.class_names:
            raise ValueError(f"the labels' classes ({', '.join(folder.codec.class_names)}) are not the model's: "
                             "declare where the model's go with --label-map")
        video = labelled_video(folder, args.camera_fps, config.max_gap)
        modes = usable_modes(capabilities_of(segmenter), [m.value for m in args.modes], args.modes != list(Mode))
        args.modes = [Mode(m) for m in modes]  # no dropout: dnn, vqdnn
    except (ValueError, CheckpointError) as exc:
        print(f"vqseg calibrate: {exc}", file=sys.stderr)
        return 2
    per_frame = args.vqbnn_samples or meta.samples_per_frame(Mode.VQBNN.value)
    if not 1 <= per_frame <= 256:
        print("vqseg calibrate: --vqbnn-samples must be in 1..256", file=sys.stderr)
        return 2
    # vqseg checkpoints and foreign models whose rate can be set search the rates; vqseg's own ONNX files
    # (calibrate the .pt for rates) and foreign models with a fixed rate sample at their own
    rate_settable = model is not None or (foreign and fixed_rate is None)
    rates = args.rates if rate_settable else []
    if foreign and fixed_rate is not None and args.rates and any(m.mc for m in args.modes):
        print(f"vqseg calibrate: the MC rate is not searched: {Path(source).name} samples only at "
              f"{own_rate}: {fixed_rate}", file=sys.stderr)
    runs = [(r, False) for r in video.sequences] + [(r, True) for r in video.stills]
    loaded = list(zip(load_runs([r for r, _ in runs], folder.codec), (s for _, s in runs), strict=True))
    fits = search(segmenter, loaded, args.modes, config, rates, args.pixels, per_frame, not args.no_progress)
    for mode in args.modes:
        if mode.value not in fits:
            print(f"vqseg calibrate: {mode.value} not fitted: the split has no video sequence", file=sys.stderr)
    if not fits:
        print("vqseg calibrate: no mode could be fitted", file=sys.stderr)
        return 2
    results = {m: f.to_dict() for m, f in fits.items()}
    temperatures = {m: f.temperature for m, f in fits.items()}
    fitted_rates = {m: f.rate for m, f in fits.items() if f.rate is not None}
    samples = {**meta.mc_samples, Mode.VQBNN.value: per_frame} if args.vqbnn_samples else dict(meta.mc_samples)
    calibrated = replace(
        meta,
        temperatures={**meta.temperatures, **temperatures},
        mc_rates={**meta.mc_rates, **fitted_rates},
        mc_samples=samples,
    )
    if exported:  # vqseg's own ONNX file: temperatures into a copy's metadata (calibrate the .pt for rates)
        write_onnx_temperatures(source, args.out, calibrated.temperatures)
    elif model is None:
        args.out = write_calibration(source, args.sidecar, args.out, description_overrides(args),
                                     calibrated.temperatures, calibrated.mc_rates if rate_settable else None)
    else:
        save_checkpoint(args.out, model.cpu(), calibrated)
    report = {
        "modes": results,
        "temperatures": calibrated.temperatures,
        "mc_rates": calibrated.mc_rates,
        "training_rate": meta.dropout,
        "vqbnn_samples": per_frame,
        "config": {
            "model": str(source),
            "out": str(args.out),
            "data": str(args.data),
            "split": args.split,
            "layout": folder.layout,
            "sequences": len(video.sequences),
            "sequence_frames": video.sequence_frames,
            "stills": len(video.stills),
            "camera_fps": args.camera_fps,
            "max_gap": config.max_gap,
            "tau": config.tau,
            "window": config.window,
            "samples": config.samples,
            "pixels_per_frame": args.pixels,
            "rates": rates,
            "seed": args.seed,
            "wall_seconds": time.perf_counter() - started,
        },
    }
    safe = json_safe(report)
    json_path = args.json or args.out.with_suffix(".calibration.json")
    md_path = args.markdown or args.out.with_suffix(".calibration.md")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(safe, indent=2) + "\n")
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(render(safe))
    print(render(safe))
    print(f"wrote {args.out}, {json_path}, {md_path}", file=sys.stderr)
    return 0


def render(report: dict[str, Any]) -> str:
    """The before/after table, the NLL by MC rate and the tau / K suggestion, as markdown."""
    cfg = report["config"]
    training = report.get("training_rate")
    rows = []
    for mode, r in report["modes"].items():
        b, a = r["before"], r["after"]
        rate = "" if "rate" not in r else f"{fmt(training, 1, 2)} → {fmt(r['rate'], 1, 2)}"
        rows.append(
            [
                f"`{mode}`",
                fmt(r["temperature"], 1, 3),
                rate,
                f"{fmt(b.get('nll'), 1, 3)} → {fmt(a['nll'], 1, 3)}",
                f"{fmt(b.get('ece'), 100, 2)} → {fmt(a['ece'], 100, 2)}",
                f"{fmt(b.get('ece15'), 100, 2)} → {fmt(a['ece15'], 100, 2)}",
                f"{fmt(b.get('brier'), 1, 4)} → {fmt(a['brier'], 1, 4)}",
                f"{fmt(b.get('acc'), 100, 1)} → {fmt(a['acc'], 100, 1)}",
                str(int(a["frames"])),
            ]
        )
    header = ["mode", "T", "MC rate", "NLL ↓", "ECE % ↓", "ECE-15 % ↓", "Brier ↓", "Acc %", "frames"]
    lines = [
        f"## Temperatures and MC rates fitted on `{cfg['data']}` split `{cfg['split']}`",
        "",
        f"Model `{cfg['model']}` → `{cfg['out']}`; {cfg['sequences']} sequences ({cfg['sequence_frames']} "
        f"frames) and {cfg['stills']} stills, {cfg['pixels_per_frame']} label pixels sampled per frame; "
        f"K = {cfg['window']}, tau = {cfg['tau']:.4g} s, bnn N = {cfg['samples']}, vqbnn samples per frame "
        f"{report.get('vqbnn_samples', 1)}. Before (T = 1, the training MC rate) → after, on the fitting "
        "pixels (in-sample: evaluate on other data with `vqseg eval --data`).",
        "",
        table(header, rows),
        "",
    ]
    by_rate = {m: r["by_rate"] for m, r in report["modes"].items() if r.get("by_rate")}
    if by_rate:
        grid = sorted({row["rate"] for rows_ in by_rate.values() for row in rows_})
        body = []
        for mode, entries in by_rate.items():
            found = {row["rate"]: row for row in entries}
            body.append([f"`{mode}`", *(fmt(found[g]["nll"], 1, 4) if g in found else "" for g in grid)])
        header = ["mode", *(f"{g:g}" for g in grid)]
        lines += ["NLL at the fitted temperature, by MC dropout rate:", "", table(header, body), ""]
    for mode, r in report["modes"].items():
        if r.get("smoothing"):
            cells = ", ".join(f"tau {row['tau']:.3g} s K {row['window']}: {row['nll']:.4f}" for row in r["smoothing"])
            lines += [f"`{mode}` NLL by memory (suggestion only, not applied): {cells}.", ""]
    lines += [f"Wall time: {fmt(cfg['wall_seconds'], 1, 0)} s.", ""]
    return "\n".join(lines)
