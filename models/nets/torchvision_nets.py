"""torchvision segmentation networks with an MC-dropout layer injected before the classifier.

LRASPP has no dropout at all and DeepLabV3's head has none before its last convolution, so a
``Dropout2d`` is placed right before each network's final 1x1 classifier convolution(s). The
wrapper returns the ``out`` logits at the input resolution, as every vqseg network does.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import segmentation as tvseg


class _TorchvisionSegmenter(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)["out"]


def _prepend_dropout(conv: nn.Module, p: float) -> nn.Sequential:
    return nn.Sequential(nn.Dropout2d(p), conv)


def lraspp_mobilenet_v3(num_classes: int, dropout: float = 0.5) -> nn.Module:
    net = tvseg.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=num_classes)
    head = net.classifier
    head.low_classifier = _prepend_dropout(head.low_classifier, dropout)
    head.high_classifier = _prepend_dropout(head.high_classifier, dropout)
    return _TorchvisionSegmenter(net)


def deeplabv3_mobilenet_v3(num_classes: int, dropout: float = 0.5) -> nn.Module:
    net = tvseg.deeplabv3_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=False
    )
    classifier = net.classifier
    classifier[-1] = _prepend_dropout(classifier[-1], dropout)
    return _TorchvisionSegmenter(net)


def fcn_resnet50(num_classes: int, dropout: float = 0.5) -> nn.Module:
    net = tvseg.fcn_resnet50(weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=False)
    # FCN's head already has Dropout(0.1) before its classifier; set it to the requested rate.
    for module in net.classifier.modules():
        if isinstance(module, nn.Dropout):
            module.p = dropout
    return _TorchvisionSegmenter(net)
