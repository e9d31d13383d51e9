"""``vqseg export``: a checkpoint to an ONNX file with live MC dropout, verified in ONNX Runtime."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import onnxruntime as ort

from models.checkpoint import CheckpointError, load_checkpoint
from models.loading import default_checkpoint_path
from models.onnx.calibration import folder_frames, synthetic_frames
from models.onnx.export import DEFAULT_OPSET, EXPORTERS, MIN_OPSET, ExportResult, export_onnx
from models.onnx.quantize import quantize_int8
from models.onnx.verify import Verification, verify_export, verify_int8


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, help="vqseg checkpoint (.pt); default: the embedded default model")
    parser.add_argument("--out", type=Path, help="ONNX file to write (default: CHECKPOINT_NAME.onnx here)")
    parser.add_argument(
        "--deterministic-only",
        action="store_true",
        help="export without live dropout (dnn / vqdnn only; the default file serves all four modes)",
    )
    parser.add_argument("--fp16", action="store_true", help="float16 weights and activations (for GPU providers)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (>= {MIN_OPSET})")
    parser.add_argument(
        "--exporter",
        choices=EXPORTERS,
        default="dynamo",
        help="torch exporter: dynamo (default) or the legacy torchscript one (10-50x faster, deprecated by torch)",
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="static post-training int8 quantization (QDQ; dropout masks stay float and live): for CPUs",
    )
    parser.add_argument(
        "--calibration-data",
        type=Path,
        help="folder of images (png/jpg, e.g. your camera's frames) to calibrate --int8 on "
        "(default: synthetic street scenes)",
    )
    parser.add_argument(
        "--calibration-frames", type=int, default=32, help="frames used for --int8 calibration (default 32)"
    )
    parser.add_argument("--device", default="cpu", help="device of the verification run (cpu, cuda, auto)")
    parser.add_argument("--no-verify", action="store_true", help="skip the ONNX Runtime check of the written file")


def run(args: argparse.Namespace) -> int:
    source = args.model or default_checkpoint_path()
    out = args.out or Path(f"{source.stem}{'_int8' if args.int8 else ''}.onnx")
    if args.int8:
        return run_int8(args, source, out)
    try:
        model, meta = load_checkpoint(source)
        result = export_onnx(
            (model, meta),
            out,
            stochastic=not args.deterministic_only,
            opset=args.opset,
            fp16=args.fp16,
            exporter=args.exporter,
        )
    except (CheckpointError, ValueError) as exc:
        print(f"vqseg export: error: {exc}", file=sys.stderr)
        return 2
    _print_export(result, meta.name, source)
    print(
        f"  model: {meta.arch} {meta.arch_options or ''} input {meta.input_size[0]}x{meta.input_size[1]}, "
        f"dropout {meta.dropout}, {meta.num_classes} classes: {', '.join(meta.class_names)}"
    )
    if meta.temperatures:
        shown = ", ".join(f"{mode} {t:.3f}" for mode, t in sorted(meta.temperatures.items()))
        print(f"  temperatures (vqseg calibrate, in the file's metadata; the onnx backend applies them): {shown}")
    if meta.mc_rates:
        shown = ", ".join(f"{mode} {r:.3f}" for mode, r in sorted(meta.mc_rates.items()))
        print(f"  MC dropout rates (vqseg calibrate; fed to the graph's rate input by the onnx backend): {shown}")
    if args.no_verify:
        return 0
    check = verify_export(result.path, model, meta, device=args.device)
    _print_check(check)
    return 0 if check.ok else 1


def run_int8(args: argparse.Namespace, source: Path, out: Path) -> int:
    """fp32 export to a temporary file, quantization into ``out``, then a check on calibration frames."""
    if args.fp16 or args.deterministic_only:
        print("vqseg export: error: --int8 starts from the fp32 graph with live dropout "
              "(no --fp16, no --deterministic-only)", file=sys.stderr)
        return 2
    try:
        model, meta = load_checkpoint(source)
        if args.calibration_data is not None:
            frames = folder_frames(args.calibration_data, args.calibration_frames)
            where = f"{len(frames)} images from {args.calibration_data}"
        else:
            frames = synthetic_frames(args.calibration_frames)
            where = f"{len(frames)} synthetic street frames"
        fp32 = out.with_name(f".{out.stem}.fp32.{os.getpid()}.onnx")
        try:
            export_onnx((model, meta), fp32, opset=args.opset, exporter=args.exporter)
            started = time.perf_counter()
            with _quiet_quantizer():
                result = quantize_int8(fp32, out, frames)
            seconds = time.perf_counter() - started
        finally:
            fp32.unlink(missing_ok=True)
    except (CheckpointError, ValueError) as exc:
        print(f"vqseg export: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out} from {source} ({meta.name}): {result.size_bytes / 1e6:.1f} MB, int8 (QDQ), {seconds:.1f} s")
    print(f"  calibrated on {where}; {result.quantized_nodes} tensors quantized, "
          f"{result.mask_nodes} dropout-mask nodes kept in float32 (masks live, kept values exactly 1/(1-p))")
    if args.no_verify:
        return 0
    check = verify_int8(out, model, meta, frames[:4])
    verdict = "ok" if check.ok else "FAILED"
    mc = ""
    if check.mc_passes_differ is not None:
        mc = f"; MC passes {'differ' if check.mc_passes_differ else 'are IDENTICAL'}"
    print(f"  verified ({verdict}) with onnxruntime {ort.__version__}: dnn labels agree with torch on "
          f"{100 * check.label_agreement:.1f}% of pixels, mean |Δp| {check.mean_abs_diff:.4f}, "
          f"{check.dnn_ms:.1f} ms/frame{mc}")
    print("  accuracy on labelled data: vqseg eval --model " + str(out) + " --data DIR (docs/onnx.md, int8)")
    return 0 if check.ok else 1


@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """ONNX Runtime's quantizer warns on the root logger about optional pre-processing: keep it out."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _print_export(result: ExportResult, name: str, source: Path) -> None:
    weights = (
        f"weights in {result.data_path.name} (keep it next to the model)" if result.data_path else "weights inline"
    )
    print(f"wrote {result.path} from {source} ({name}): {result.size_bytes / 1e6:.1f} MB, {weights}")
    if result.stochastic:
        graph = f"live dropout in {result.dropout_layers} layers behind the 'mc' input (all four modes)"
    else:
        graph = "deterministic (dnn / vqdnn only)"
    print(
        f"  graph: opset {result.opset}, {result.precision}, {graph}; "
        f"image (batch, 3, height, width) -> probs (batch, classes, height, width); {result.seconds:.1f} s"
    )


def _print_check(check: Verification) -> None:
    verdict = "ok" if check.ok else "FAILED"
    mc = ""
    if check.mc_passes_differ is not None:
        mc = f"; MC passes {'differ' if check.mc_passes_differ else 'are IDENTICAL'}, {check.mc_ms:.1f} ms"
    print(
        f"  verified ({verdict}) with onnxruntime {ort.__version__} on {check.providers[0]}: "
        f"dnn max|torch - onnx| = {check.dnn_max_abs_diff:.2e} (tolerance {check.tolerance:g}), "
        f"{check.dnn_ms:.1f} ms/frame{mc}"
    )
