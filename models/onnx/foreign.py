"""ONNX files trained and exported elsewhere (mmsegmentation, SMP, torchvision, SegFormer), described
by a sidecar (``models.sidecar``), behind the same ``Segmenter`` interface.

The graph is read once (``foreign_graph``): its image input, the per-class output, its dropout. Dropout
nodes are made live behind a ``vqseg_mc`` input and ONNX Runtime's ``EliminateDropout`` is disabled so
they survive optimisation; whether MC sampling really works is then checked by running it (two passes
must differ). A graph fixed at batch 1 (``torch.onnx.export`` without dynamic axes) runs frame by frame.
Outputs at a coarser resolution are upsampled as probabilities (``models.outputs``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch

from models.capabilities import Capabilities
from models.devices import resolve_device
from models.foreign_segmenter import ForeignSegmenter
from models.onnx.foreign_graph import (
    FLOAT_TYPES,
    MC_INPUT,
    RATE_INPUT,
    ForeignGraphError,
    GraphFacts,
    choose_output,
    inspect_graph,
    make_dropout_live,
)
from models.onnx.metadata import OnnxModelError
from models.onnx.providers import CPU, CUDA, parse_providers, usable_providers
from models.outputs import OutputMismatch, check_output_shape
from models.sidecar import ModelDescription, describe_model

log = logging.getLogger(__name__)

DISABLED_OPTIMIZERS = ["EliminateDropout"]  # ONNX Runtime deletes Dropout nodes even in training mode


class ForeignOnnxSegmenter(ForeignSegmenter):
    """A foreign ONNX graph: ``predict`` feeds ``vqseg_mc`` when dropout was made live (and ``vqseg_rate``,
    the MC rate, when the ratios were wired to it); a graph with random masks baked in samples on every
    call, at its own rate, and refuses ``mc=False``."""

    backend = "onnx"

    def __init__(
        self, session: ort.InferenceSession, facts: GraphFacts, output: str, description: ModelDescription,
        input_size: tuple[int, int], device: torch.device, path: Path, live_dropout: bool,
    ) -> None:
        rates = [r for r in facts.dropout_rates if r is not None]
        info = {"format": "onnx", "opset": facts.opset, "input": facts.image.name, "output_tensor": output}
        super().__init__(description, input_size, device, path, "onnx", max(rates, default=0.0), info)
        self.session = session
        self.facts = facts
        self.output = output
        self.providers: list[str] = list(session.get_providers())
        self._live_dropout = live_dropout
        self.rate_refusal = facts.rate_refusal
        out_batch = next((o.shape[0] for o in facts.outputs if o.name == output), None)
        # a graph fixed at batch 1 (or one whose exporter pinned the output's batch to 1) runs frame by frame
        self._per_frame = 1 in (facts.image.shape[0], out_batch)
        self._dtype = FLOAT_TYPES[facts.image.elem_type]

    def run_raw(self, batch: torch.Tensor, mc: bool, rate: float | None = None) -> torch.Tensor:
        """The graph's chosen output for ``batch`` as a CPU tensor, as the graph gives it; MC passes at
        ``rate`` (None: the file's own)."""
        image = batch.detach().to("cpu", torch.float32).numpy().astype(self._dtype, copy=False)
        chunks = [image[i : i + 1] for i in range(len(image))] if self._per_frame else [image]
        results = []
        for chunk in chunks:
            feeds: dict[str, np.ndarray] = {self.facts.image.name: np.ascontiguousarray(chunk)}
            if self._live_dropout:
                feeds[MC_INPUT] = np.array(mc)
                if self.facts.rate_input:
                    feeds[RATE_INPUT] = np.array(self.meta.dropout if rate is None else rate, dtype=np.float32)
            (out,) = self.session.run([self.output], feeds)
            results.append(torch.from_numpy(np.asarray(out, dtype=np.float32)))
        return torch.cat(results, dim=0)


def load_foreign_onnx(
    path: str | Path,
    device: str = "auto",
    providers: str | Sequence[str] | None = None,
    sidecar: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> ForeignOnnxSegmenter:
    """Open a foreign ONNX file with its sidecar (next to it, or ``sidecar``) and ``overrides`` (flags).

    Raises ``OnnxModelError`` naming what does not fit: inputs, the input size, the output's class count.
    """
    path = Path(path)
    description = describe_model(path, sidecar, overrides)
    source = path.name
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises several types for foreign files
        raise OnnxModelError(f"{path} is not a readable ONNX model: {exc}") from exc
    try:
        facts = inspect_graph(model, source, description.input_name)
        output = choose_output(facts, description.output_name, source)
        input_size = _input_size(facts, description, source)
        check_output_shape(output.shape, len(description.class_names), description.layout, input_size, source)
        live = make_dropout_live(model, facts)
    except (ForeignGraphError, OutputMismatch) as exc:
        raise OnnxModelError(str(exc)) from exc
    torch_device = resolve_device(device)
    wanted = parse_providers(providers) if providers is not None else ([CUDA, CPU] if torch_device.type == "cuda"
                                                                       else [CPU])
    names, skipped = usable_providers(wanted)
    session = _session(model.SerializeToString() if live else str(path), names, seed, path)
    segmenter = ForeignOnnxSegmenter(session, facts, output.name, description, input_size, torch_device, path, live)
    _check_output(segmenter, source)
    segmenter.capabilities = _discover(segmenter, facts, live)
    segmenter.check_mc_rates()
    log.info(
        "onnxruntime %s: %s (foreign, %s) runs on %s%s; dropout: %s; modes: %s",
        ort.__version__, path.name, description.source, segmenter.providers[0],
        f" (skipped {', '.join(skipped)})" if skipped else "", segmenter.capabilities.dropout,
        ", ".join(segmenter.capabilities.modes),
    )
    return segmenter


def _input_size(facts: GraphFacts, description: ModelDescription, source: str) -> tuple[int, int]:
    h, w = facts.image.shape[2], facts.image.shape[3]
    fixed = (h, w) if isinstance(h, int) and isinstance(w, int) else None
    wanted = description.input_size
    if fixed is not None and wanted is not None and fixed != wanted:
        raise ForeignGraphError(
            f"{source}: the graph's input is fixed at {fixed[0]}x{fixed[1]} but the sidecar's input_size is "
            f"{wanted[0]}x{wanted[1]}; remove input_size or re-export the model with dynamic height and width"
        )
    size = wanted or fixed
    if size is None:
        raise ForeignGraphError(
            f"{source}: the graph's input height and width are dynamic; set input_size (e.g. 512x1024) in the sidecar"
        )
    return size


def _session(model: str | bytes, names: list[str], seed: int | None, path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if names == [CPU]:
        options.intra_op_num_threads = torch.get_num_threads()
    ort.set_seed(int(torch.randint(0, 2**31 - 1, ()).item()) if seed is None else int(seed))
    try:
        return ort.InferenceSession(model, sess_options=options, providers=names,
                                    disabled_optimizers=DISABLED_OPTIMIZERS)
    except Exception as exc:  # onnxruntime raises its own exception types for invalid graphs
        raise OnnxModelError(f"ONNX Runtime cannot open {path}: {exc}") from exc


def _probe(segmenter: ForeignOnnxSegmenter) -> torch.Tensor:
    h, w = segmenter.meta.input_size
    generator = torch.Generator().manual_seed(0)
    return torch.randn((2, 3, h, w), generator=generator)


def _check_output(segmenter: ForeignOnnxSegmenter, source: str) -> None:
    """Run one pass and check the real output shape (symbolic dims are only checked here)."""
    try:
        raw = segmenter.run_raw(_probe(segmenter), mc=False)
    except Exception as exc:  # onnxruntime's own errors: wrong size for a fixed graph, bad dtype
        size = "x".join(map(str, segmenter.meta.input_size))
        raise OnnxModelError(f"{source}: one pass at {size} failed in ONNX Runtime: {exc}") from exc
    try:
        d = segmenter.description
        check_output_shape(tuple(raw.shape), len(d.class_names), d.layout, segmenter.meta.input_size, source)
    except OutputMismatch as exc:
        raise OnnxModelError(str(exc)) from exc


def _discover(segmenter: ForeignOnnxSegmenter, facts: GraphFacts, live: bool, tries: int = 3) -> Capabilities:
    """MC works when passes over one input differ; found, not assumed."""
    probe = _probe(segmenter)
    if facts.random_ops:
        first = segmenter.run_raw(probe, mc=True)
        if any(not torch.equal(first, segmenter.run_raw(probe, mc=True)) for _ in range(tries)):
            return Capabilities(mc=True, deterministic=False,
                                dropout=f"random masks in the graph ({facts.random_ops} random ops), always live",
                                reason="the graph draws random masks on every pass",
                                rate_fixed=facts.rate_refusal or "")
    if live:
        first = segmenter.run_raw(probe, mc=True)
        if any(not torch.equal(first, segmenter.run_raw(probe, mc=True)) for _ in range(tries)):
            rates = sorted({r for r in facts.dropout_rates if r is not None})
            rate_text = f", p={', '.join(f'{r:g}' for r in rates)}" if rates else ""
            return Capabilities(mc=True, dropout=f"{len(facts.dropout_rates)} Dropout node(s) made live{rate_text}",
                                rate_fixed=facts.rate_refusal or "")
        return Capabilities(mc=False, dropout=f"{len(facts.dropout_rates)} Dropout node(s), not stochastic",
                            reason="its Dropout nodes gave identical passes")
    if facts.frozen_dropout:
        return Capabilities(mc=False, dropout=f"{facts.frozen_dropout} Dropout node(s) that cannot be made live",
                            reason=f"opset {facts.opset} Dropout nodes have no training_mode input (opset 12+)")
    return Capabilities(mc=False, dropout="none", reason="no Dropout node in the graph")
