"""``vqseg bench --backends torch,onnx,openvino,int8``: the raw model per backend per mode, in one run.

Every (backend, mode) pair gets its own ``StreamPipeline`` (prepare + forward pass(es) + blend + maps,
as ``vqseg eval`` times them). The pairs run in rounds, ``frames_per_round`` frames each, their order
rotating from round to round, so that the load of a shared machine hits every backend alike: the
ratios between backends are from one run, side by side, even where the absolute figures are noisy.

Backends: ``torch`` (eager), ``onnx`` (ONNX Runtime CPU), ``openvino``, and ``int8`` (the int8 file on
the fastest ONNX runtime installed; ``int8-onnx`` / ``int8-openvino`` name one). ``.pt`` checkpoints
reach the ONNX runtimes through the export cache; ``int8`` uses ``--int8-model`` or the cached
synthetic-calibrated quantization.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models import Segmenter, load_segmenter
from models.backends import runtime_installed
from streaming import Mode, StreamConfig, StreamPipeline, apply_variant

BENCH_BACKENDS = ("torch", "onnx", "openvino", "int8", "int8-onnx", "int8-openvino")


def parse_backends(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(v.strip().lower() for v in text.split(",") if v.strip()))
    unknown = [n for n in names if n not in BENCH_BACKENDS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown backend(s) {unknown}; choose from {', '.join(BENCH_BACKENDS)}")
    return names


@dataclass(frozen=True)
class Loaded:
    """A backend ready to time: its segmenter and how ``vqseg serve`` would run the same thing."""

    name: str
    segmenter: Segmenter
    model: Path  # the file the server gets (the int8 file for int8)
    backend: str  # the server's --backend


def load_backend(name: str, model: Path, threads: int | None, int8_model: Path | None = None) -> Loaded:
    """Load ``model`` on the CPU with the runtime ``name`` stands for."""
    if name.startswith("int8"):
        from models.onnx.cache import int8_for_checkpoint

        path = int8_model or int8_for_checkpoint(model)
        runtime = name.removeprefix("int8-") if "-" in name else _fastest_onnx_runtime()
        return Loaded(name, load_segmenter(path, "cpu", runtime, threads=threads), path, runtime)
    return Loaded(name, load_segmenter(model, "cpu", name, threads=threads), model, name)


def _fastest_onnx_runtime() -> str:
    return "openvino" if runtime_installed("openvino") else "onnx"


def run_backend_bench(
    loaded: Sequence[Loaded],
    frames: Sequence[np.ndarray],
    fps: float,
    modes: Sequence[Mode],
    config: StreamConfig,
    rounds: int,
    frames_per_round: int,
    warmup: int = 2,
) -> dict[str, Any]:
    """fps per backend per mode, interleaved; ratios over torch where torch was timed; the fastest in
    ``vqbnn`` (or the first mode timed)."""
    pairs = [(b.name, str(m)) for b in loaded for m in modes]
    by_name = {b.name: b for b in loaded}
    pipelines = {
        (b, m): StreamPipeline(by_name[b].segmenter, apply_variant(config, m), stream_id=f"bench-{b}-{m}")
        for b, m in pairs
    }
    cursor = dict.fromkeys(pairs, 0)
    seconds = dict.fromkeys(pairs, 0.0)
    counted = dict.fromkeys(pairs, 0)

    def run(pair: tuple[str, str], count: int) -> None:
        for _ in range(count):
            k = cursor[pair]
            pipelines[pair].process(frames[k % len(frames)], k / fps)
            cursor[pair] = k + 1

    for pair in pairs:
        run(pair, warmup)
    for r in range(rounds):
        shift = r % len(pairs)
        for pair in (*pairs[shift:], *pairs[:shift]):
            start = time.perf_counter()
            run(pair, frames_per_round)
            seconds[pair] += time.perf_counter() - start
            counted[pair] += frames_per_round
    table = {b.name: {str(m): counted[(b.name, str(m))] / seconds[(b.name, str(m))] for m in modes} for b in loaded}
    key = "vqbnn" if Mode.VQBNN in modes else str(modes[0])
    result: dict[str, Any] = {
        "order": [b.name for b in loaded],
        "fps": table,
        "runs_on": {b.name: _describe(b) for b in loaded},
        "rounds": rounds,
        "frames_per_round": frames_per_round,
        "fastest": max(table, key=lambda name: table[name][key]),
        "fastest_by": key,
    }
    if "torch" in table:
        result["over_torch"] = {
            name: {m: fps_m / table["torch"][m] for m, fps_m in row.items()} for name, row in table.items()
        }
    return result


def _describe(loaded: Loaded) -> str:
    seg = loaded.segmenter
    precision = getattr(getattr(seg, "info", None), "precision", "fp32")
    return f"{seg.backend}, {precision}, {loaded.model.name}"


def backends_section(
    loaded: Sequence[Loaded], frames: Sequence[np.ndarray], fps: float, args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any], Loaded]:
    """(the ``backends`` section, a ``model`` section for the fastest backend, the fastest backend)."""
    import torch

    from benchmarks.model_bench import ring_buffer_size

    modes = tuple(m for m in args.modes if m is not Mode.BNN) or (Mode.VQBNN,)
    config = StreamConfig(samples=args.samples)
    section = run_backend_bench(loaded, frames, fps, modes, config, args.rounds, args.frames_per_round)
    fastest = next(b for b in loaded if b.name == section["fastest"])
    row = section["fps"][fastest.name]
    ratios = {f"vqbnn_over_{m}_fps": row["vqbnn"] / row[m] for m in ("dnn", "vqdnn") if m in row and "vqbnn" in row}
    h, w = fastest.segmenter.meta.input_size
    model = {
        "fps": dict(row), "ratios": ratios, "backend": fastest.name, "samples": args.samples,
        "device": "cpu", "batch": 1, "torch_threads": torch.get_num_threads(), "network_size": [h, w],
        "ring_buffer": ring_buffer_size(config.window, fastest.segmenter.meta.num_classes, h, w),
    }
    return section, model, fastest


def pin_command(command: list[str], cpu: int | None) -> list[str]:
    """``command`` under ``taskset -c CPU`` (Linux), unchanged without a CPU."""
    return command if cpu is None else ["taskset", "-c", str(cpu), *command]
