"""A compact Bayesian U-Net: the paper's CamVid network, sized for CPUs and cameras.

Six MC-dropout layers sit at the deep end (two encoder stages, the bottleneck and three decoder
stages), as in Bayesian SegNet and the VQ-BNN paper's U-Net. The forward pass has no Python-side
randomness or shape logic, so it traces and exports to ONNX.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


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
    """U-Net with ``depth=4`` poolings and 6 dropout layers; returns logits at the input resolution."""

    def __init__(
        self, num_classes: int, width: int = 16, dropout: float = 0.5, dropout_kind: str = "channel"
    ) -> None:
        super().__init__()
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
        self.drop_enc3 = _dropout(dropout_kind, dropout)
        self.drop_enc4 = _dropout(dropout_kind, dropout)
        self.drop_mid = _dropout(dropout_kind, dropout)
        self.drop_dec4 = _dropout(dropout_kind, dropout)
        self.drop_dec3 = _dropout(dropout_kind, dropout)
        self.drop_dec2 = _dropout(dropout_kind, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.drop_enc3(self.enc3(F.max_pool2d(e2, 2)))
        e4 = self.drop_enc4(self.enc4(F.max_pool2d(e3, 2)))
        mid = self.drop_mid(self.bottleneck(F.max_pool2d(e4, 2)))
        d4 = self.drop_dec4(self.dec4(mid, e4))
        d3 = self.drop_dec3(self.dec3(d4, e3))
        d2 = self.drop_dec2(self.dec2(d3, e2))
        d1 = self.dec1(d2, e1)
        return self.head(d1)
