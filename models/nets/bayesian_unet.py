"""A compact Bayesian U-Net: the paper's CamVid network, sized for CPUs and cameras.

Where the MC-dropout layers sit is an option (``dropout_placement``):

- ``deep`` (the original default): six layers at the deep end (two encoder stages, the bottleneck and
  three decoder stages), as in Bayesian SegNet and the VQ-BNN paper's U-Net;
- ``tail``: one layer on the last decoder stage's input (the half-resolution features): only the
  last decoder block and the head are sampled;
- ``head``: one layer on the full-resolution features before the 1x1 classifier: only the head is
  sampled.

The network is split into a deterministic ``trunk`` and a sampled ``tail`` (``forward = tail(trunk)``):
with ``tail``/``head`` placement the trunk holds no dropout, so several MC samples per frame need the
trunk once and the cheap tail M times (``models.mc_samples``). The forward pass has no Python-side
randomness or shape logic, so it traces and exports to ONNX.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

PLACEMENTS = ("deep", "tail", "head")


def _dropout(kind: str, p: float) -> nn.Module:
    if kind == "channel":
        return nn.Dropout2d(p)
    if kind == "element":
        return nn.Dropout(p)
    raise ValueError(f"dropout kind must be 'channel' or 'element', got {kind!r}")


class _ConvBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


class _Up(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(cin, cskip, 1, bias=False)
        self.block = _ConvBlock(2 * cskip, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.block(torch.cat([self.reduce(x), skip], dim=1))


class BayesianUNet(nn.Module):
    """U-Net with ``depth=4`` poolings; returns logits at the input resolution.

    ``dropout_kind`` is ``channel`` (``Dropout2d``: whole feature maps) or ``element`` (``Dropout``);
    ``dropout_placement`` one of ``PLACEMENTS`` (module docstring). Dropout layers hold no weights,
    so a checkpoint's weights load under any kind or placement.
    """

    def __init__(
        self,
        num_classes: int,
        width: int = 16,
        dropout: float = 0.5,
        dropout_kind: str = "channel",
        dropout_placement: str = "deep",
    ) -> None:
        super().__init__()
        if dropout_placement not in PLACEMENTS:
            raise ValueError(f"dropout placement must be one of {', '.join(PLACEMENTS)}, got {dropout_placement!r}")
        self.placement = dropout_placement
        w = width
        self.enc1 = _ConvBlock(3, w)
        self.enc2 = _ConvBlock(w, 2 * w)
        self.enc3 = _ConvBlock(2 * w, 4 * w)
        self.enc4 = _ConvBlock(4 * w, 8 * w)
        self.bottleneck = _ConvBlock(8 * w, 8 * w)
        self.dec4 = _Up(8 * w, 8 * w, 4 * w)
        self.dec3 = _Up(4 * w, 4 * w, 2 * w)
        self.dec2 = _Up(2 * w, 2 * w, w)
        self.dec1 = _Up(w, w, w)
        self.head = nn.Conv2d(w, num_classes, 1)
        if dropout_placement == "deep":
            self.drop_enc3 = _dropout(dropout_kind, dropout)
            self.drop_enc4 = _dropout(dropout_kind, dropout)
            self.drop_mid = _dropout(dropout_kind, dropout)
            self.drop_dec4 = _dropout(dropout_kind, dropout)
            self.drop_dec3 = _dropout(dropout_kind, dropout)
            self.drop_dec2 = _dropout(dropout_kind, dropout)
        elif dropout_placement == "tail":
            self.drop_dec2 = _dropout(dropout_kind, dropout)
        else:
            self.drop_head = _dropout(dropout_kind, dropout)

    @property
    def cheap_tail(self) -> bool:
        """True when every dropout layer is in the tail and the trunk is deterministic."""
        return self.placement != "deep"

    def _drop(self, name: str, x: torch.Tensor) -> torch.Tensor:
        layer = getattr(self, name, None)
        return x if layer is None else layer(x)

    def trunk(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The part before the first dropout layer: its outputs are the tail's inputs."""
        if self.placement == "deep":
            return (x,)
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        e4 = self.enc4(F.max_pool2d(e3, 2))
        mid = self.bottleneck(F.max_pool2d(e4, 2))
        d2 = self.dec2(self.dec3(self.dec4(mid, e4), e3), e2)
        if self.placement == "tail":
            return d2, e1
        return (self.dec1(d2, e1),)

    def tail(self, *features: torch.Tensor) -> torch.Tensor:
        """The sampled part: every dropout layer, from the trunk's outputs to the logits."""
        if self.placement == "head":
            return self.head(self._drop("drop_head", features[0]))
        if self.placement == "tail":
            d2, e1 = features
            return self.head(self.dec1(self._drop("drop_dec2", d2), e1))
        x = features[0]
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self._drop("drop_enc3", self.enc3(F.max_pool2d(e2, 2)))
        e4 = self._drop("drop_enc4", self.enc4(F.max_pool2d(e3, 2)))
        mid = self._drop("drop_mid", self.bottleneck(F.max_pool2d(e4, 2)))
        d4 = self._drop("drop_dec4", self.dec4(mid, e4))
        d3 = self._drop("drop_dec3", self.dec3(d4, e3))
        d2 = self._drop("drop_dec2", self.dec2(d3, e2))
        return self.head(self.dec1(d2, e1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(*self.trunk(x))
