"""``vqseg eval``: dnn / bnn / vqdnn / vqbnn side by side on held-out video; JSON, markdown and pictures."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from evaluation import suite
from evaluation.commands.evaluate_data import run_data
from evaluation.domain_shift import real_vs_synthetic
from evaluation.labelled_video import CAMERA_FPS
from evaluation.markdown import render_markdown, write_markdown
from evaluation.pictures import write_reliability, write_strips
from evaluation.real_clips import find_real_clips, read_clip
from evaluation.report import build_report, json_safe, write_json
from evaluation.run_config import describe_run
from evaluation.runner import ModeRun, evaluate_modes
from evaluation.suite import EvalSequence
from evaluation.throughput import measure_fps
from models import BACKENDS, CheckpointError, Segmenter, default_checkpoint_path, load_segmenter
from models.capabilities import capabilities_of, usable_modes
from models.sidecar_flags import add_description_flags, description_overrides
from streaming import Mode, StreamConfig, StreamOption, parse_variants, stream_options
from streaming.options import add_option_flags


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH, got {text!r}") from None
    return h, w


def _modes(text: str) -> list[str]:
    try:
        return parse_variants(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def eval_options() -> list[StreamOption]:
    """The per-stream options ``eval`` takes as flags: all but ``mode`` (``--modes``) and ``seed``
    (``--seed`` picks the held-out scenes and seeds dropout once)."""
    return [o for o in stream_options() if o.name not in ("mode", "seed")]


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--model", type=Path, help="checkpoint (.pt) or ONNX file (default: the embedded default model)")
    add(
        "--data",
        type=Path,
        help="a labelled folder (SegNet CamVid, CamVid colour labels, Cityscapes) instead of the synthetic suite",
    )
    add("--split", default="val", help="the folder's split with --data (default val)")
    add(
        "--camera-fps",
        type=float,
        default=CAMERA_FPS,
        help=f"with --data: the rate the frame numbers count at (default {CAMERA_FPS:g}, CamVid's camera)",
    )
    add(
        "--label-map",
        help="with --data, when the model's classes are not the labels': a YAML/JSON table {model class: "
        "label class} or a built-in one (cityscapes19-camvid11); docs/models.md",
    )
    add(
        "--uncalibrated",
        action="store_true",
        help="ignore the checkpoint's temperatures and MC rates (vqseg calibrate)",
    )
    add("--backend", choices=BACKENDS, help="inference backend: auto (default; VQSEG_BACKEND), torch, onnx, openvino")
    add("--device", default="auto", help="cpu, cuda, cuda:1, mps or auto (default)")
    add(
        "--modes",
        type=_modes,
        default=[m.value for m in Mode],
        help="comma-separated (default: dnn,bnn,vqdnn,vqbnn); also vqbnn_motion, vqbnn_spatial, "
        "vqbnn_motion_spatial (docs/motion.md)",
    )
    add(
        "--suite",
        choices=tuple(suite.SUITES),
        default="default",
        help="held-out set: default, or motion (pan, drive, cuts, static: for the motion-aware variants)",
    )
    streams = parser.add_argument_group("stream options (as a server stream takes them; --modes picks the modes)")
    notes = {"max_gap": "with --data it also splits sequences", "samples": "--quick: 8"}
    add_option_flags(streams, eval_options(), notes)
    add("--sequences", type=int, help=f"held-out sequences (default {suite.DEFAULT_SEQUENCES}; --quick: 2)")
    add("--frames", type=int, help=f"frames per sequence (default {suite.DEFAULT_FRAMES}; --quick: 8)")
    add("--size", type=_size, default=suite.RENDER_SIZE, help="rendered video HxW (default 360x480)")
    add("--seed", type=int, default=1, help="first held-out scene seed, 1..99 (also seeds dropout)")
    add("--quick", action="store_true", help="CI size: 2 sequences x 8 frames, bnn N=8, short fps rounds")
    add("--real", action="store_true", help="also run the real clips (vtest.avi, bikes.mp4) out of domain")
    add("--real-clip", action="append", default=[], metavar="PATH", help="another real video (repeatable)")
    add("--real-frames", type=int, help="frames sampled per real clip (default 40; --quick: 8)")
    add("--fps-rounds", type=int, help="throughput rounds (default 4; --quick: 2)")
    add("--fps-frames", type=int, help="frames per mode per throughput round (default 5; --quick: 2)")
    add("--picture-sequence", type=int, default=1, help="index of the held-out sequence pictured (default 1)")
    add("--out", type=Path, default=Path("out/eval"), help="output folder (default out/eval)")
    add("--json", type=Path, help="JSON report path (default OUT/eval.json)")
    add("--markdown", type=Path, help="markdown report path (default OUT/eval.md)")
    add("--threads", type=int, help="torch CPU threads")
    add("--no-progress", action="store_true", help="no progress bars")

    add_description_flags(parser)

def _resolve_sizes(args: argparse.Namespace) -> None:
    def pick(value: int | None, full: int, small: int) -> int:
        return value if value is not None else (small if args.quick else full)

    args.sequences = pick(args.sequences, suite.DEFAULT_SEQUENCES, suite.QUICK_SEQUENCES)
    args.frames = pick(args.frames, suite.DEFAULT_FRAMES, suite.QUICK_FRAMES)
    args.samples = pick(args.samples, StreamConfig().samples, 8)
    args.real_frames = pick(args.real_frames, 40, 8)
    args.fps_rounds = pick(args.fps_rounds, 4, 2)
    args.fps_frames = pick(args.fps_frames, 5, 2)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    _resolve_sizes(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    try:
        if not args.modes:
            raise ValueError("--modes names no mode")
        config = StreamConfig(**{o.name: v for o in eval_options() if (v := getattr(args, o.name)) is not None})
        if args.data is None:
            specs = suite.held_out_specs(
                args.sequences, args.frames, args.seed, args.size, kinds=suite.SUITES[args.suite]
            )
        segmenter = load_segmenter(args.model, device=args.device, backend=args.backend, sidecar=args.sidecar,
                                   describe=description_overrides(args))
        explicit = args.modes != [m.value for m in Mode]
        args.modes = usable_modes(capabilities_of(segmenter), args.modes, explicit)  # no dropout: dnn, vqdnn
        if args.label_map and args.data is None:
            raise ValueError("--label-map applies to --data (a labelled folder)")
        if args.uncalibrated:
            segmenter.meta = replace(segmenter.meta, temperatures={}, mc_rates={})
    except (ValueError, CheckpointError) as exc:
        hint = ""
        if args.model is None and not default_checkpoint_path().is_file():
            hint = "\n(the embedded default model is missing: pass --model PATH, or train it, see docs/training.md)"
        print(f"vqseg eval: {exc}{hint}", file=sys.stderr)
        return 2
    if args.data is not None:
        return run_data(args, segmenter, config, started)
    if args.quick:
        print(
            f"--quick: {args.sequences} sequences x {args.frames} frames, bnn N={args.samples} "
            "(a smoke test; the README figures come from the full run)",
            file=sys.stderr,
        )
    progress = not args.no_progress
    sequences = suite.render_suite(specs)
    runs = evaluate_modes(segmenter, sequences, args.modes, config, progress=progress, desc="held-out")
    per_sequence = max(1, 20 // len(sequences))
    timing_frames = [image for s in sequences for image in s.images[:per_sequence]]
    throughput = measure_fps(
        segmenter, timing_frames, args.modes, config, rounds=args.fps_rounds, frames_per_round=args.fps_frames
    )
    real_section: dict[str, Any] | None = None
    real_runs: dict[str, ModeRun] = {}
    if args.real or args.real_clip:
        real_section, real_runs = _run_real(args, segmenter, config, runs, progress)
    run_config = describe_run(args.model, segmenter, config, args.modes, specs, args.quick, args.seed)
    report = build_report(runs, throughput, run_config, real_section)
    pictures = _write_pictures(args.out, args.picture_sequence, segmenter, sequences, runs, real_runs)
    report["pictures"] = {name: str(path) for name, path in pictures.items()}
    report["config"]["wall_seconds"] = time.perf_counter() - started
    report["config"]["suite"] = args.suite
    report["config"]["calibrated"] = bool(segmenter.meta.temperatures)
    safe = json_safe(report)
    json_path = write_json(args.json or args.out / "eval.json", safe)
    md_path = write_markdown(args.markdown or args.out / "eval.md", safe)
    print(render_markdown(safe))
    print(f"wrote {json_path}, {md_path}, " + ", ".join(map(str, pictures.values())), file=sys.stderr)
    return 0


def _run_real(
    args: argparse.Namespace,
    segmenter: Segmenter,
    config: StreamConfig,
    synthetic: dict[str, ModeRun],
    progress: bool,
) -> tuple[dict[str, Any], dict[str, ModeRun]]:
    """Run the modes on the real clips; the report's ``real`` section and the runs (for pictures)."""
    search = find_real_clips(args.real_clip, include_defaults=args.real)
    sequences: list[EvalSequence] = []
    clips: dict[str, dict[str, Any]] = {}
    missing = dict(search.missing)
    for name, path in search.found.items():
        try:
            read = read_clip(name, path, frames=args.real_frames, runs=2)
        except ValueError as exc:
            missing[name] = str(exc)
            continue
        sequences += read
        clips[name] = {"path": str(path), "frames": sum(len(s) for s in read)}
    for name, why in missing.items():
        print(f"vqseg eval: real clip {name!r} skipped: {why}", file=sys.stderr)
    section: dict[str, Any] = {"clips": clips, "missing": missing, "modes": {}}
    if not sequences:
        return section, {}
    runs = evaluate_modes(segmenter, sequences, args.modes, config, progress=progress, desc="real clips")
    section["modes"] = real_vs_synthetic(runs, synthetic, {s.name: s.tags["clip"] for s in sequences})
    return section, runs


def _write_pictures(
    out: Path,
    picture_sequence: int,
    segmenter: Segmenter,
    sequences: list[EvalSequence],
    runs: dict[str, ModeRun],
    real_runs: dict[str, ModeRun],
) -> dict[str, Path]:
    meta = segmenter.meta
    pictures = {
        "reliability": write_reliability(out / "reliability.png", runs, "Reliability, held-out synthetic video")
    }
    shown = sequences[min(max(picture_sequence, 0), len(sequences) - 1)].name
    path = write_strips(
        out / "modes_synthetic.png",
        runs,
        shown,
        meta.palette,
        meta.class_names,
        f"held-out frame ({shown}), one row per mode",
    )
    if path is not None:
        pictures["synthetic"] = path
    if real_runs:
        first = next(iter(next(iter(real_runs.values())).snapshots))
        path = write_strips(
            out / "modes_real.png",
            real_runs,
            first,
            meta.palette,
            meta.class_names,
            f"real clip ({first}), outside the synthetic training domain",
        )
        if path is not None:
            pictures["real"] = path
    return pictures
