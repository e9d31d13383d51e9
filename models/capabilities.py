"""What a loaded network can serve, discovered from it (never assumed): which modes, and why not the others.

``dnn``/``vqdnn`` need a deterministic pass, ``bnn``/``vqbnn`` a live dropout (MC) pass. A vqseg
network has both; a foreign one has MC only when dropout was found in it and two passes differ; a
graph with random masks baked in samples on every pass and has no deterministic pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MC_MODES = ("bnn", "vqbnn")
DETERMINISTIC_MODES = ("dnn", "vqdnn")


@dataclass(frozen=True)
class Capabilities:
    """``mc``/``deterministic``: which passes work; ``dropout`` says what was found (for /v1/model);
    ``rate_fixed`` why the MC rate cannot be set (empty: it can, per call)."""

    mc: bool
    deterministic: bool = True
    dropout: str = ""
    reason: str = ""  # why MC (or the deterministic pass) is not available
    rate_fixed: str = ""

    @property
    def modes(self) -> list[str]:
        return [m for m in ("dnn", "bnn", "vqdnn", "vqbnn") if self.refusal(m) is None]

    def refusal(self, mode: str) -> str | None:
        """Why ``mode`` cannot run on this model, or None when it can."""
        base = mode.split("_")[0]  # vqbnn_motion etc. need what vqbnn needs
        if base in MC_MODES and not self.mc:
            return f"mode {mode!r} needs MC dropout, and this model has none ({self.reason}); use dnn or vqdnn"
        if base in DETERMINISTIC_MODES and not self.deterministic:
            return (f"mode {mode!r} needs a deterministic pass, and this model has none ({self.reason}); "
                    "use bnn or vqbnn")
        return None

    def as_dict(self) -> dict[str, object]:
        return {"modes": self.modes, "mc_dropout": self.mc, "deterministic": self.deterministic,
                "dropout": self.dropout, "reason": self.reason,
                "mc_rate_settable": self.mc and not self.rate_fixed, "mc_rate_fixed": self.rate_fixed}


def capabilities_of(segmenter: object) -> Capabilities:
    """A segmenter's ``capabilities``; backends that only say ``has_dropout`` get it derived."""
    found = getattr(segmenter, "capabilities", None)
    if isinstance(found, Capabilities):
        return found
    has_dropout = bool(getattr(segmenter, "has_dropout", True))
    layers = getattr(getattr(segmenter, "info", None), "dropout_layers", None)  # a vqseg ONNX file says how many
    found = f"{layers} dropout layer(s), live behind 'mc'" if isinstance(layers, int) and layers else "dropout layers"
    return Capabilities(
        mc=has_dropout,
        dropout=found if has_dropout else "none",
        reason="" if has_dropout else "the network has no dropout layer",
    )


def usable_modes(capabilities: Capabilities, requested: Sequence[str], explicit: bool) -> list[str]:
    """``requested`` modes the model can run; a mode it cannot run is an error when the user named it
    (``explicit``), and is left out of a default list (a network without dropout: dnn, vqdnn)."""
    refusals = [r for r in (capabilities.refusal(str(m)) for m in requested) if r is not None]
    if refusals and explicit:
        raise ValueError(refusals[0])
    kept = [m for m in requested if capabilities.refusal(str(m)) is None]
    if not kept:
        raise ValueError(refusals[0] if refusals else "no mode to run")
    return kept
