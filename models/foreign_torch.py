"""Torch files trained elsewhere: TorchScript (``torch.jit.save``), ``torch.export`` programs (``.pt2``)
and whole pickled modules (``torch.save(model)``, only when the sidecar says ``format: torch-module``:
unpickling runs code from the file).

Dropout is discovered, not assumed: TorchScript submodules whose original class is a ``Dropout*`` are
switched to train mode for MC passes (everything else stays in eval mode); in an exported program the
``aten.dropout``-family calls get ``train=True`` in a second copy of the graph. MC is offered only when
two passes over one input then differ (a module traced in eval mode has its dropout frozen).

The MC rate can be set where the file lets it: a whole module's ``Dropout*`` layers get ``p`` scaled for
the call, an exported program's dropout calls read a scale set for the call (``rate / own rate``: every
layer keeps its proportion to the largest, the file's own rate). TorchScript compiles ``p`` into its code
as a constant: such a file samples at its own rate only (``rate_refusal`` says so).
"""

from __future__ import annotations

import contextvars
import copy
import logging
import threading
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.capabilities import Capabilities
from models.checkpoint import CheckpointError
from models.devices import resolve_device
from models.foreign_segmenter import ForeignSegmenter
from models.outputs import OutputMismatch, check_output_shape
from models.sidecar import ModelDescription, describe_model

log = logging.getLogger(__name__)

DROPOUT_NAMES = ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")
_aten = torch.ops.aten
EXPORTED_DROPOUT_OPS = (
    _aten.dropout.default, _aten.feature_dropout.default, _aten.alpha_dropout.default,
    _aten.feature_alpha_dropout.default, _aten.native_dropout.default, _aten.dropout_.default,
    _aten.feature_dropout_.default, _aten.alpha_dropout_.default, _aten.feature_alpha_dropout_.default,
)

Forward = Callable[[torch.Tensor], Any]
Sampling = Callable[[torch.Tensor, float], Any]  # (batch, scale of every dropout rate)
SCRIPTED_RATE = ("TorchScript compiles a Dropout's p into its code as a constant; bring the model as a "
                 "torch.export program (.pt2), a whole module (format: torch-module) or ONNX with Dropout nodes "
                 "to set it")
_RATE_SCALE: contextvars.ContextVar[float] = contextvars.ContextVar("vqseg_rate_scale", default=1.0)


class ForeignTorchSegmenter(ForeignSegmenter):
    """A foreign torch network; ``deterministic``/``sampling`` run it with dropout off/on (``sampling``
    with every dropout rate scaled by a factor); one call at a time (the layers' modes are switched)."""

    backend = "torch"

    def __init__(
        self, description: ModelDescription, input_size: tuple[int, int], device: torch.device, path: Path,
        fmt: str, deterministic: Forward, sampling: Sampling | None, dropout_layers: list[float],
        rate_refusal: str | None,
    ) -> None:
        known = [r for r in dropout_layers if r == r]  # NaN: a rate the file does not show
        info = {"format": fmt, "dropout_layers": len(dropout_layers)}
        super().__init__(description, input_size, device, path, fmt, max(known, default=0.0), info)
        self._deterministic = deterministic
        self._sampling = sampling
        self.rate_refusal = rate_refusal if len(known) == len(dropout_layers) else (
            "the file does not show its dropout rates")
        self._lock = threading.Lock()

    def run_raw(self, batch: torch.Tensor, mc: bool, rate: float | None = None) -> torch.Tensor:
        with self._lock:
            if mc and self._sampling is not None:
                own = self.meta.dropout
                scale = 1.0 if rate is None or own <= 0.0 else float(rate) / own
                return pick_output(self._sampling(batch, scale), self.description.output_name)
            return pick_output(self._deterministic(batch), self.description.output_name)


def pick_output(result: Any, name: str | None = None) -> torch.Tensor:
    """The per-class tensor from what a network returns: a tensor, torchvision's ``{"out": ...}``,
    Hugging Face's ``.logits``, or the first element of a tuple."""
    if isinstance(result, torch.Tensor):
        return result
    if isinstance(result, Mapping):
        for key in ((name,) if name else ("out", "logits", "output")):
            if key in result:
                return pick_output(result[key])
        raise OutputMismatch(f"the network returned keys {sorted(result)}; name one with output_name")
    for attribute in ((name,) if name else ("logits", "out")):
        if isinstance(getattr(result, attribute, None), torch.Tensor):
            return getattr(result, attribute)
    if isinstance(result, tuple | list) and result:
        return pick_output(result[0], name)
    raise OutputMismatch(f"the network returned {type(result).__name__}, not a tensor of class scores")


def is_torchscript(path: Path) -> bool:
    """A ``torch.jit.save`` archive (a zip with a ``constants.pkl`` and TorchScript code)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(n.endswith("/constants.pkl") or "/code/" in n for n in archive.namelist())


def load_foreign_torch(
    path: str | Path, device: str = "auto", sidecar: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ForeignTorchSegmenter:
    path = Path(path)
    description = describe_model(path, sidecar, overrides)
    torch_device = resolve_device(device)
    fmt = description.format or ("torch-export" if path.suffix == ".pt2" else
                                 "torchscript" if is_torchscript(path) else None)
    if fmt is None:
        raise CheckpointError(
            f"{path.name} has a sidecar but is not TorchScript or a torch.export program (a vqseg checkpoint needs no "
            "sidecar); a whole pickled "
            "module loads with 'format: torch-module' in its sidecar (unpickling runs code from the file: trust it)"
        )
    try:
        deterministic, sampling, rates, rate_refusal = _open(path, fmt, torch_device)
    except CheckpointError:
        raise
    except Exception as exc:  # torch raises many types for unreadable or mismatched files
        raise CheckpointError(f"{path.name}: cannot load as {fmt}: {exc}") from exc
    if description.input_size is None:
        raise CheckpointError(f"{path.name}: set input_size (e.g. 512x1024) in the sidecar: torch files do not fix it")
    segmenter = ForeignTorchSegmenter(description, description.input_size, torch_device, path, fmt,
                                      deterministic, sampling, rates, rate_refusal)
    probe = torch.randn((2, 3, *description.input_size), generator=torch.Generator().manual_seed(0)).to(torch_device)
    with torch.inference_mode():
        try:
            raw = segmenter.run_raw(probe, mc=False)
            check_output_shape(tuple(raw.shape), len(description.class_names), description.layout,
                               description.input_size, path.name)
        except OutputMismatch as exc:
            raise CheckpointError(str(exc)) from exc
        except Exception as exc:  # the network's own error on the probe batch
            raise CheckpointError(f"{path.name}: one pass at {description.input_size} failed: {exc}") from exc
        segmenter.capabilities = _discover(segmenter, probe, rates)
    segmenter.check_mc_rates()
    log.info("%s (%s, %s) on %s; dropout: %s; modes: %s", path.name, fmt, description.source, torch_device,
             segmenter.capabilities.dropout, ", ".join(segmenter.capabilities.modes))
    return segmenter


def _open(path: Path, fmt: str, device: torch.device) -> tuple[Forward, Sampling | None, list[float], str | None]:
    """The deterministic and sampling forwards, the dropout rates found, and why the rate cannot be set."""
    if fmt == "torchscript":
        module = torch.jit.load(str(path), map_location=device)
        module.eval()
        layers = [m for _, m in module.named_modules() if getattr(m, "original_name", "") in DROPOUT_NAMES]
        return (*_module_forwards(module, layers, settable=False), SCRIPTED_RATE)
    if fmt == "torch-export":
        program = torch.export.load(str(path))
        graph_module = program.module().to(device)
        sampling, rates = _sampling_graph(graph_module)
        return graph_module, sampling, rates, None
    if fmt == "torch-module":
        module = torch.load(path, map_location=device, weights_only=False)
        if not isinstance(module, nn.Module):
            raise CheckpointError(f"{path.name} holds a {type(module).__name__}, not a torch module")
        module.eval()
        layers = [m for m in module.modules() if type(m).__name__ in DROPOUT_NAMES]
        settable = all(isinstance(getattr(m, "p", None), float | int) for m in layers)
        refusal = None if settable else "a dropout layer has no numeric p attribute"
        return (*_module_forwards(module, layers, settable), refusal)
    raise CheckpointError(f"{path.name}: format {fmt!r} is not a torch format")


def _module_forwards(
    module: nn.Module, layers: list[nn.Module], settable: bool
) -> tuple[Forward, Sampling | None, list[float]]:
    """Forward functions with only ``layers`` (the dropout modules) switched to train mode for MC, their
    ``p`` scaled for the call when ``settable`` (a whole module's; TorchScript's ``p`` is a constant)."""
    # a traced module keeps no ``p`` attribute (its rate is a constant in the graph): unknown, not zero
    rates = [float(getattr(layer, "p", float("nan"))) for layer in layers]

    def deterministic(batch: torch.Tensor) -> Any:
        for layer in layers:
            layer.train(False)
        return module(batch)

    def sampling(batch: torch.Tensor, scale: float) -> Any:
        for layer in layers:
            layer.train(True)
        if not settable or scale == 1.0:
            return module(batch)
        try:
            for layer, p in zip(layers, rates, strict=True):
                layer.p = p * scale
            return module(batch)
        finally:
            for layer, p in zip(layers, rates, strict=True):
                layer.p = p

    return deterministic, (sampling if layers else None), rates


def _at_rate(op: Any) -> Callable[..., Any]:
    """``op`` (an ``aten`` dropout call) with its rate argument scaled by the scale set for the call."""

    def call(*args: Any, **kwargs: Any) -> Any:
        values = list(args)
        values[1] = values[1] * _RATE_SCALE.get()
        return op(*values, **kwargs)

    call.__name__ = f"vqseg_{op.__name__.replace('.', '_')}_at_rate"
    return call


def _sampling_graph(graph_module: torch.fx.GraphModule) -> tuple[Sampling | None, list[float]]:
    """A copy of an exported graph with every dropout call's ``train`` argument set and its rate scaled
    by the call's scale (None: no dropout)."""
    rates: list[float] = []
    sampling = copy.deepcopy(graph_module)
    for node in sampling.graph.nodes:
        if node.op == "call_function" and node.target in EXPORTED_DROPOUT_OPS and len(node.args) >= 3:
            args = list(node.args)
            rates.append(float(args[1]))
            args[2] = True
            node.args = tuple(args)
            node.target = _at_rate(node.target)
    if not rates:
        return None, []
    sampling.recompile()

    def run(batch: torch.Tensor, scale: float) -> Any:
        token = _RATE_SCALE.set(scale)
        try:
            return sampling(batch)
        finally:
            _RATE_SCALE.reset(token)

    return run, rates


def _discover(
    segmenter: ForeignTorchSegmenter, probe: torch.Tensor, rates: list[float], tries: int = 3
) -> Capabilities:
    if not rates:
        return Capabilities(mc=False, dropout="none", reason="no dropout module in the network")
    if all(r <= 0.0 for r in rates):  # NaN (unknown) is not <= 0
        return Capabilities(mc=False, dropout=f"{len(rates)} dropout layer(s) with p=0",
                            reason="every dropout rate is 0")
    first = segmenter.run_raw(probe, mc=True)
    if any(not torch.equal(first, segmenter.run_raw(probe, mc=True)) for _ in range(tries)):
        shown = ", ".join(f"{r:g}" for r in sorted({r for r in rates if r == r}))
        return Capabilities(mc=True, dropout=f"{len(rates)} dropout layer(s) switched to sampling, p={shown}",
                            rate_fixed=segmenter.rate_refusal or "")
    return Capabilities(
        mc=False, dropout=f"{len(rates)} dropout layer(s), frozen",
        reason="its dropout layers do not sample (a module traced in eval mode bakes them in: script it, "
        "or torch.export it)",
    )
