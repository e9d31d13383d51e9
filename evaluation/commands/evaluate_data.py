"""``vqseg eval --data DIR``: the modes side by side on a user's labelled folder (CamVid, Cityscapes).

The folder's frames are grouped into sequences and stills (``evaluation.labelled_video``), each
sequence streamed causally, frame by frame in time order, through one ``StreamPipeline`` per mode
(the server's session and blend), scored at the labels' resolution. Stills are run for dnn and bnn.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from evaluation.data_markdown import render_data_markdown
from evaluation.data_report import build_data_report, describe_data
from evaluation.label_map import map_labels
from evaluation.labelled_video import FrameRun, LabelledVideo, labelled_video, load_runs
from evaluation.markdown import write_markdown
from evaluation.pictures import write_reliability, write_strips
from evaluation.report import json_safe, write_json
from evaluation.run_config import describe_model
from evaluation.runner import ModeRun, evaluate_modes
from evaluation.throughput import measure_fps
from models import Segmenter
from models.training.layouts import LabelledFolder, find_labelled_files, read_rgb
from streaming import Mode, StreamConfig

STILL_MODES = (Mode.DNN.value, Mode.BNN.value)
TIMING_FRAMES = 20


def find_video(args: argparse.Namespace, config: StreamConfig) -> tuple[LabelledFolder, LabelledVideo]:
    """The folder's labelled files and their sequences (raises ``ValueError`` with a reason)."""
    folder = find_labelled_files(args.data, args.split)
    return folder, labelled_video(folder, camera_fps=args.camera_fps, max_gap=config.max_gap)


def run_data(args: argparse.Namespace, segmenter: Segmenter, config: StreamConfig, started: float) -> int:
    """Evaluate ``args.modes`` on ``args.data``; writes JSON, markdown and pictures to ``args.out``."""
    try:
        folder, video = find_video(args, config)
        if getattr(args, "label_map", None):
            segmenter = map_labels(segmenter, args.label_map, folder.codec.class_names, folder.codec.palette)
        if folder.codec.class_names != segmenter.meta.class_names:
            raise ValueError(
                f"the labels' classes ({', '.join(folder.codec.class_names)}) are not the model's "
                f"({', '.join(segmenter.meta.class_names)}): declare where the model's go with --label-map"
            )
    except ValueError as exc:
        print(f"vqseg eval: {exc}", file=sys.stderr)
        return 2
    progress = not args.no_progress
    shown = _pictured(video, args.picture_sequence)
    sequence_runs: dict[str, ModeRun] = {}
    if video.sequences:
        sequence_runs = evaluate_modes(
            segmenter,
            load_runs(video.sequences, folder.codec),
            args.modes,
            config,
            progress=progress,
            desc="sequences",
            at_label_size=True,
            snapshots={shown.name} if shown is not None else set(),
            total=video.sequence_frames,
        )
    still_modes = [m for m in args.modes if m in STILL_MODES]
    still_runs: dict[str, ModeRun] = {}
    if video.stills and still_modes:
        still_runs = evaluate_modes(
            segmenter,
            load_runs(video.stills, folder.codec),
            still_modes,
            config,
            progress=progress,
            desc="stills",
            at_label_size=True,
            per_sequence=False,
            snapshots=set() if video.sequences else {video.stills[0].name},
            total=len(video.stills),
        )
    timing = _timing_frames(video)
    throughput = measure_fps(
        segmenter, timing, args.modes, config, rounds=args.fps_rounds, frames_per_round=args.fps_frames
    )
    run_config = describe_model(args.model, segmenter, config, args.modes, args.quick, args.seed)
    run_config["labels_compared_at"] = "label resolution (probabilities upsampled bilinearly)"
    run_config["calibrated"] = bool(segmenter.meta.temperatures)  # applied (none with --uncalibrated)
    if getattr(args, "label_map", None):
        run_config["label_map"] = args.label_map
    data = describe_data(video, str(args.data), args.split, folder.layout)
    report = build_data_report(sequence_runs, still_runs, throughput, run_config, segmenter.meta.class_names, data)
    kind = "sequences" if sequence_runs else "stills"
    pictured = shown or video.stills[0]
    pictures = _write_pictures(args.out, segmenter, sequence_runs or still_runs, pictured, f"{args.split} {kind}")
    report["pictures"] = {name: str(path) for name, path in pictures.items()}
    report["config"]["wall_seconds"] = time.perf_counter() - started
    safe = json_safe(report)
    json_path = write_json(args.json or args.out / "eval.json", safe)
    md_path = write_markdown(args.markdown or args.out / "eval.md", safe, render_data_markdown)
    print(render_data_markdown(safe))
    print(f"wrote {json_path}, {md_path}, " + ", ".join(map(str, pictures.values())), file=sys.stderr)
    return 0


def _pictured(video: LabelledVideo, index: int) -> FrameRun | None:
    if not video.sequences:
        return None
    return video.sequences[min(max(index, 0), len(video.sequences) - 1)]


def _timing_frames(video: LabelledVideo) -> list[np.ndarray]:
    """Up to ``TIMING_FRAMES`` images of the first sequence (else the first stills), for the fps rounds."""
    runs = video.sequences[:1] or video.stills[:TIMING_FRAMES]
    files = [frame.file.image for run in runs for frame in run.frames][:TIMING_FRAMES]
    return [read_rgb(path) for path in files]


def _write_pictures(
    out: Path, segmenter: Segmenter, runs: dict[str, ModeRun], shown: FrameRun, what: str
) -> dict[str, Path]:
    meta = segmenter.meta
    pictures = {"reliability": write_reliability(out / "reliability.png", runs, f"Reliability, {what}")}
    path = write_strips(
        out / "modes_data.png",
        runs,
        shown.name,
        meta.palette,
        meta.class_names,
        f"{shown.name}: one labelled frame, one row per mode",
    )
    if path is not None:
        pictures["frame"] = path
    return pictures

