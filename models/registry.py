"""Architecture registry: ``create_model(arch, ...)`` with helpful errors for unknown names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from models.dropout import check_mc_dropout
from models.nets.bayesian_unet import BayesianUNet
from models.nets.torchvision_nets import deeplabv3_mobilenet_v3, fcn_resnet50, lraspp_mobilenet_v3

_ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "bayesian_unet": BayesianUNet,
    "lraspp_mobilenet_v3": lraspp_mobilenet_v3,
    "deeplabv3_mobilenet_v3": deeplabv3_mobilenet_v3,
    "fcn_resnet50": fcn_resnet50,
}


def available_architectures() -> list[str]:
    return sorted(_ARCHITECTURES)


def create_model(arch: str, num_classes: int, dropout: float = 0.5, **options: Any) -> nn.Module:
    """Build an untrained network whose forward returns logits ``(B, C, H, W)`` at input resolution."""
    try:
        factory = _ARCHITECTURES[arch]
    except KeyError:
        raise ValueError(
            f"unknown architecture {arch!r}; choose one of: {', '.join(available_architectures())}"
        ) from None
    model = factory(num_classes=num_classes, dropout=dropout, **options)
    if dropout > 0:
        check_mc_dropout(model)
    return model
