"""``vqseg eval`` with the motion-aware and spatial variants, the motion suite and boundary accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evaluation.runner import evaluate_modes
from evaluation.suite import MOTION_SPECS, EvalSequence, held_out_specs
from evaluation.throughput import measure_fps
from models.backend_torch import TorchSegmenter
from streaming import Mode, StreamConfig
from vqseg.cli import main

VARIANTS = ["vqbnn", "vqbnn_motion", "vqbnn_spatial", "vqbnn_motion_spatial"]


def panning(name: str, frames: int = 4) -> EvalSequence:
    rng = np.random.default_rng(0)
    world = rng.integers(0, 256, (40, 100, 3), dtype=np.uint8)
    labels = (np.arange(100)[None, :].repeat(40, 0) // 25).astype(np.uint8)
    return EvalSequence(
        name,
        [np.ascontiguousarray(world[:, 3 * i : 3 * i + 60]) for i in range(frames)],
        [i / 15 for i in range(frames)],
        [np.ascontiguousarray(labels[:, 3 * i : 3 * i + 60]) for i in range(frames)],
    )


def test_runner_takes_variant_names_and_scores_boundaries(tiny_segmenter: TorchSegmenter) -> None:
    runs = evaluate_modes(tiny_segmenter, [panning("pan")], VARIANTS, StreamConfig(), progress=False)
    assert list(runs) == VARIANTS
    assert all(run.mode is Mode.VQBNN for run in runs.values())
    for run in runs.values():
        summary = run.summary()
        assert 0.0 <= summary["boundary_acc"] <= 1.0 and run.frames == 4
        assert list(run.per_sequence_boundary) == ["pan"]


def test_throughput_times_variants_side_by_side(tiny_segmenter: TorchSegmenter) -> None:
    frames = panning("pan").images
    result = measure_fps(tiny_segmenter, frames, ["vqbnn", "vqbnn_motion"], rounds=1, frames_per_round=2, warmup=1)
    assert set(result.fps) == {"vqbnn", "vqbnn_motion"} and all(v > 0 for v in result.fps.values())


def test_motion_suite_covers_pan_drive_cuts_and_static() -> None:
    specs = held_out_specs(4, 2, kinds=MOTION_SPECS)
    assert [s.scenario for s in specs] == ["pan", "drive", "cuts", "static"]
    assert all(s.seed in range(1, 100) for s in specs)


@pytest.fixture(scope="module")
def checkpoint(street_checkpoint: Path) -> Path:
    return street_checkpoint


def test_eval_command_runs_the_motion_suite_with_variants(checkpoint: Path, tmp_path: Path) -> None:
    argv = ["eval", "--model", str(checkpoint), "--quick", "--suite", "motion", "--modes", "dnn,vqbnn,vqbnn_motion",
            "--frames", "3", "--size", "48x64", "--fps-rounds", "1", "--fps-frames", "1", "--out", str(tmp_path),
            "--no-progress", "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((tmp_path / "eval.json").read_text())
    assert list(report["modes"]) == ["dnn", "vqbnn", "vqbnn_motion"]
    assert report["config"]["suite"] == "motion" and report["config"]["modes"] == ["dnn", "vqbnn", "vqbnn_motion"]
    assert all(m["boundary_acc"] is not None for m in report["modes"].values())
    first = next(iter(report["per_sequence"].values()))
    assert "boundary_acc" in first["vqbnn_motion"]
    assert "Bnd acc" in (tmp_path / "eval.md").read_text()


def test_eval_command_refuses_an_unknown_variant(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["eval", "--model", str(checkpoint), "--modes", "vqbnn_warp", "--out", str(tmp_path)])
