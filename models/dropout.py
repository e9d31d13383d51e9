"""MC-dropout control: dropout modules sample at inference while batch-norm stays in eval mode."""

from __future__ import annotations

from torch import nn

_DROPOUT_TYPES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)


def dropout_modules(model: nn.Module) -> list[nn.Module]:
    """All dropout layers of ``model`` in registration order."""
    return [m for m in model.modules() if isinstance(m, _DROPOUT_TYPES)]


def check_mc_dropout(model: nn.Module) -> None:
    """Raise if ``model`` cannot draw MC-dropout samples (no dropout layer, or every rate is 0)."""
    layers = dropout_modules(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no dropout layer: MC dropout needs at least one")
    if all(float(getattr(m, "p", 0.0)) == 0.0 for m in layers):
        raise ValueError(f"{type(model).__name__}: every dropout layer has p=0, MC dropout would be deterministic")


def set_mc_dropout(model: nn.Module, active: bool) -> None:
    """Put the whole model in eval mode, then (if ``active``) only its dropout layers in train mode.

    Batch-norm running statistics are never updated by inference either way.
    """
    model.eval()
    if active:
        for layer in dropout_modules(model):
            layer.train()


def set_dropout_rate(model: nn.Module, p: float) -> None:
    """Set the rate of every dropout layer (used when a checkpoint says which rate it was trained with)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {p}")
    for layer in dropout_modules(model):
        layer.p = p  # type: ignore[assignment]
