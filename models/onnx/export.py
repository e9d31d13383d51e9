"""``export_onnx``: a vqseg checkpoint (or a network and its metadata) to one ONNX file.

torch's exporter (``dynamo``, the default, or the faster legacy ``torchscript`` one) traces
``ProbabilityGraph`` with dynamic batch, height and width. The file gets vqseg's metadata and keeps
its weights inline unless they pass protobuf's 2 GB limit; then they go to ``<name>.onnx.data`` next
to it (that file must travel with the model).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import onnx
import torch
from torch import nn

from models.checkpoint import load_checkpoint
from models.meta import ModelMeta
from models.onnx.graph import ProbabilityGraph
from models.onnx.metadata import INPUT_IMAGE, INPUT_MC, INPUT_RATE, OUTPUT_PROBS, OnnxModelInfo, metadata_props

log = logging.getLogger(__name__)

Exporter = Literal["dynamo", "torchscript"]
EXPORTERS: tuple[Exporter, ...] = ("dynamo", "torchscript")
DEFAULT_OPSET = 20
MIN_OPSET = 18
INLINE_LIMIT_BYTES = 1_800_000_000  # protobuf refuses messages over 2 GiB
_RANDOM_OPS = frozenset({"RandomUniformLike", "RandomUniform", "RandomNormalLike", "RandomNormal", "Bernoulli"})


@dataclass(frozen=True)
class ExportResult:
    """What ``export_module`` wrote. ``data_path`` is the side file of large weights, if any."""

    path: Path
    data_path: Path | None
    stochastic: bool
    precision: str
    dropout_layers: int
    opset: int
    size_bytes: int
    seconds: float


def export_onnx(
    source: str | Path | tuple[nn.Module, ModelMeta],
    out_path: str | Path,
    stochastic: bool = True,
    opset: int = DEFAULT_OPSET,
    fp16: bool = False,
    exporter: Exporter = "dynamo",
) -> ExportResult:
    """Export a checkpoint path or ``(model, meta)`` to ``out_path``.

    ``stochastic`` (default) writes the graph with the ``mc`` input and live dropout, which serves all
    four modes; ``stochastic=False`` writes the deterministic variant (dnn / vqdnn only). ``fp16`` runs
    the network in float16 (for GPU providers; inputs and probabilities stay float32). ``exporter``:
    torch's ``dynamo`` exporter (default), or the older ``torchscript`` one, 10-50x faster to export,
    deprecated by torch but equivalent for these networks.
    """
    model, meta = load_checkpoint(source) if isinstance(source, str | Path) else source
    if stochastic and meta.dropout == 0:
        raise ValueError(f"model {meta.name!r} has dropout rate 0: export it with stochastic=False")
    graph = ProbabilityGraph(model, stochastic=stochastic, half=fp16)
    info = OnnxModelInfo(
        meta=meta, stochastic=stochastic, precision="fp16" if fp16 else "fp32", dropout_layers=graph.dropout_layers
    )
    height, width = meta.input_size
    example = torch.zeros(2, 3, height, width)
    return export_module(graph, out_path, example, metadata_props(info), opset=opset, exporter=exporter)


def export_module(
    graph: ProbabilityGraph,
    out_path: str | Path,
    example: torch.Tensor,
    metadata: dict[str, str],
    opset: int = DEFAULT_OPSET,
    exporter: Exporter = "dynamo",
) -> ExportResult:
    """Trace ``graph`` on ``example`` (a ``(B, C, H, W)`` batch, B ≥ 2) and write it with ``metadata``.

    The lower-level half of ``export_onnx``, for graphs that are not whole vqseg networks.
    """
    if exporter not in EXPORTERS:
        raise ValueError(f"unknown exporter {exporter!r}; choose one of: {', '.join(EXPORTERS)}")
    if opset < MIN_OPSET:
        raise ValueError(f"opset {opset} is too old; vqseg exports opset {MIN_OPSET} or newer")
    if example.dim() != 4 or example.shape[0] < 2:
        raise ValueError("the example input must be a (B, C, H, W) batch with B >= 2 (B = 1 would be specialised)")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with _quiet_exporter():
        model = (
            _trace_dynamo(graph, example, opset) if exporter == "dynamo" else _trace_torchscript(graph, example, opset)
        )
    found = _count_random_ops(model)
    if graph.stochastic and found < graph.dropout_layers:
        raise RuntimeError(
            f"the exporter kept {found} random ops for {graph.dropout_layers} dropout layers: MC dropout would be lost"
        )
    onnx.helper.set_model_props(model, metadata)
    model.doc_string = (
        "vqseg segmentation network: image (B,3,H,W) float32 [, mc bool, rate float32] -> probs (B,C,H,W)"
    )
    onnx.checker.check_model(model)
    data_path = _save(model, out_path)
    seconds = time.perf_counter() - started
    size = out_path.stat().st_size + (data_path.stat().st_size if data_path else 0)
    log.info("exported %s (%.1f MB, opset %d) in %.1f s", out_path, size / 1e6, opset, seconds)
    precision = "fp16" if graph.fp16 else "fp32"
    return ExportResult(out_path, data_path, graph.stochastic, precision, graph.dropout_layers, opset, size, seconds)


def _inputs(graph: ProbabilityGraph, example: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], list[str]]:
    if graph.stochastic:
        rate = torch.tensor(graph.example_rate, dtype=torch.float32)
        return (example, torch.tensor(True), rate), [INPUT_IMAGE, INPUT_MC, INPUT_RATE]
    return (example,), [INPUT_IMAGE]


def _trace_dynamo(graph: ProbabilityGraph, example: torch.Tensor, opset: int) -> onnx.ModelProto:
    batch = torch.export.Dim("batch", min=1)
    height = torch.export.Dim("height", min=16)
    width = torch.export.Dim("width", min=16)
    args, names = _inputs(graph, example)
    dynamic: dict[str, object] = {INPUT_IMAGE: {0: batch, 2: height, 3: width}}
    if graph.stochastic:
        dynamic[INPUT_MC] = None
        dynamic[INPUT_RATE] = None
    with torch.no_grad():
        program = torch.onnx.export(
            graph,
            args,
            None,
            input_names=names,
            output_names=[OUTPUT_PROBS],
            dynamic_shapes=dynamic,
            opset_version=opset,
            dynamo=True,
            optimize=True,
            verbose=False,
        )
    if program is None:
        raise RuntimeError("torch.onnx.export returned no program")
    return program.model_proto


def _trace_torchscript(graph: ProbabilityGraph, example: torch.Tensor, opset: int) -> onnx.ModelProto:
    args, names = _inputs(graph, example)
    axes = {0: "batch", 2: "height", 3: "width"}
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            graph,
            args,
            buffer,  # type: ignore[arg-type]  # the legacy exporter writes to file objects too
            input_names=names,
            output_names=[OUTPUT_PROBS],
            dynamic_axes={INPUT_IMAGE: axes, OUTPUT_PROBS: axes},
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    return onnx.load_model_from_string(buffer.getvalue())


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporters print progress and log every optimisation step at INFO: keep that out of vqseg's log."""
    loggers = [logging.getLogger(name) for name in ("onnxscript", "onnx_ir", "torch.onnx", "torch.export")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _count_random_ops(model: onnx.ModelProto) -> int:
    nodes = list(model.graph.node)
    for function in model.functions:
        nodes.extend(function.node)
    return sum(node.op_type in _RANDOM_OPS for node in nodes)


def _save(model: onnx.ModelProto, out_path: Path) -> Path | None:
    """Write atomically; inline weights when they fit, else one side file ``<name>.data``."""
    data_path = out_path.with_name(out_path.name + ".data")
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    external = model.ByteSize() > INLINE_LIMIT_BYTES
    if external:
        onnx.save_model(
            model,
            str(tmp),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=data_path.name,
            size_threshold=1024,
        )
    else:
        onnx.save_model(model, str(tmp))
        data_path.unlink(missing_ok=True)  # a stale side file from an earlier, larger export
    tmp.replace(out_path)
    return data_path if external else None
