"""The module that is exported: a network whose dropout draws its masks inside the ONNX graph.

Each dropout layer is replaced by ``GraphDropout``, which builds its keep-mask from
``torch.rand_like`` (ONNX ``RandomUniformLike``: no optimiser may fold it, and ONNX Runtime draws
fresh values on every run) and applies it only when the graph's boolean ``mc`` input is true. So one
file serves dnn/vqdnn (``mc`` false: exactly the eval-mode network) and bnn/vqbnn (``mc`` true:
dropout as in training mode, a fresh mask per call and per batch element). The float ``rate`` input
sets every dropout layer's rate at run time, so one file serves each mode's calibrated MC rate
(``meta.mc_rates``); the exporter feeds the training rate as the example.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

_ELEMENT = (nn.Dropout,)
_CHANNEL = (nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
_UNSUPPORTED = (nn.AlphaDropout, nn.FeatureAlphaDropout)


class DropoutGate:
    """Carries the graph's ``mc`` input from the wrapper's forward to every ``GraphDropout``."""

    def __init__(self) -> None:
        self.mc: torch.Tensor | None = None
        self.rate: torch.Tensor | None = None


class GraphDropout(nn.Module):
    """Dropout with rate ``p`` whose mask is drawn in the graph, active when ``gate.mc`` is true.

    ``channelwise`` zeroes whole channels per sample (``Dropout1d/2d/3d``: mask ``(B, C, 1, ...)``),
    otherwise single elements (``Dropout``). Kept values are scaled by ``1 / (1 - p)``, as torch does.
    """

    def __init__(self, p: float, channelwise: bool, gate: DropoutGate) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {p}")
        self.p = float(p)
        self.channelwise = channelwise
        self.gate = gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mc = self.gate.mc
        if mc is None:
            raise RuntimeError("GraphDropout runs only inside a ProbabilityGraph forward pass")
        if self.channelwise:
            if x.dim() < 3:
                raise ValueError(f"channel dropout needs a batched (B, C, ...) input, got shape {tuple(x.shape)}")
            like = x[(slice(None), slice(None), *((slice(0, 1),) * (x.dim() - 2)))]
        else:
            like = x
        rate = self.gate.rate
        if rate is None:
            keep = (torch.rand_like(like) >= self.p).to(x.dtype) * (1.0 / (1.0 - self.p))
        else:
            rate = rate.to(x.dtype)
            keep = (torch.rand_like(like) >= rate).to(x.dtype) / (1.0 - rate)
        return x * torch.where(mc, keep, torch.ones_like(keep))

    def extra_repr(self) -> str:
        return f"p={self.p}, channelwise={self.channelwise}"


def replace_dropout(model: nn.Module, gate: DropoutGate | None) -> int:
    """Swap every dropout layer of ``model`` in place: ``GraphDropout`` with a gate, else ``Identity``.

    Returns how many layers were replaced. Alpha dropout has no graph form here and is refused.
    """
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, _UNSUPPORTED):
                raise ValueError(f"{type(child).__name__} ({name}) cannot be exported with live dropout")
            if not isinstance(child, _ELEMENT + _CHANNEL):
                continue
            new: nn.Module = nn.Identity()
            if gate is not None:
                new = GraphDropout(float(child.p), isinstance(child, _CHANNEL), gate)
            setattr(parent, name, new)
            replaced += 1
    return replaced


class ProbabilityGraph(nn.Module):
    """``forward(image[, mc]) -> probs``: a copy of ``net`` ready for export.

    The copy is in eval mode (batch-norm uses its running statistics and folds into convolutions).
    ``stochastic`` keeps the dropout layers as ``GraphDropout`` behind the ``mc`` input; otherwise they
    become identities and the graph has no ``mc`` input. ``half`` runs the network in float16 between a
    float32 input and float32 probabilities. ``probabilities=False`` returns the network's raw output
    (used to test the dropout layers on their own).
    """

    def __init__(self, net: nn.Module, stochastic: bool, half: bool = False, probabilities: bool = True) -> None:
        super().__init__()
        self.gate = DropoutGate() if stochastic else None
        holder = nn.Sequential(copy.deepcopy(net).cpu().eval())  # so that ``net`` itself can be a dropout layer
        rates = [float(m.p) for m in holder.modules() if isinstance(m, _ELEMENT + _CHANNEL)]
        self.example_rate = rates[0] if rates else 0.0  # what the exporter traces with; ``rate`` sets it per run
        self.dropout_layers = replace_dropout(holder, self.gate)
        self.net: nn.Module = holder[0]
        if stochastic and self.dropout_layers == 0:
            raise ValueError(f"{type(net).__name__} has no dropout layer: export it with stochastic=False")
        self.fp16 = half
        if half:
            self.net = self.net.half()
        self.probabilities = probabilities
        self.eval()

    @property
    def stochastic(self) -> bool:
        return self.gate is not None

    def forward(
        self, image: torch.Tensor, mc: torch.Tensor | None = None, rate: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.gate is not None:
            if mc is None:
                raise ValueError("a stochastic graph needs the mc input")
            self.gate.mc = mc
            self.gate.rate = rate
        try:
            x = image.half() if self.fp16 else image
            out = self.net(x).float()
        finally:
            if self.gate is not None:
                self.gate.mc = None
                self.gate.rate = None
        return torch.softmax(out, dim=1) if self.probabilities else out
