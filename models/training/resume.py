"""The resumable state of a training run: weights, optimiser, schedule, sampler RNG, step and history.

Written atomically every ``checkpoint_every`` steps and when a time budget runs out, beside the output
checkpoint as ``<out>.resume``. Resuming with the same command continues the run exactly where it
stopped: the same batches, the same learning-rate schedule, the same history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

RESUME_FORMAT = "vqseg-train-state"


def resume_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".resume")


@dataclass
class TrainState:
    step: int = 0
    seconds: float = 0.0
    running_loss: float | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    fingerprint: dict[str, Any] = field(default_factory=dict)
    finish: dict[str, float] | None = None  # a shortened finish in force: from_step, at, factor


def save_train_state(
    path: Path, state: TrainState, model: torch.nn.Module, optimiser: Any, schedule: Any, sampler_state: Any
) -> None:
    payload = {
        "format": RESUME_FORMAT,
        "step": state.step,
        "seconds": state.seconds,
        "running_loss": state.running_loss,
        "history": state.history,
        "fingerprint": state.fingerprint,
        "finish": state.finish,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimiser": optimiser.state_dict(),
        "schedule": schedule.state_dict(),
        "sampler": sampler_state,
        "torch_rng": torch.get_rng_state(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def load_train_state(
    path: Path, fingerprint: dict[str, Any], model: torch.nn.Module, optimiser: Any, schedule: Any
) -> tuple[TrainState, Any]:
    """Restore everything into the given objects; returns the state and the sampler's RNG state."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(payload, dict) or payload.get("format") != RESUME_FORMAT:
        raise ValueError(f"{path} is not a vqseg training state")
    if payload["fingerprint"] != fingerprint:
        changed = sorted(k for k in set(fingerprint) | set(payload["fingerprint"])
                         if fingerprint.get(k) != payload["fingerprint"].get(k))
        raise ValueError(f"{path} belongs to a run with other settings ({', '.join(changed)}): not resuming it")
    model.load_state_dict(payload["model"])
    optimiser.load_state_dict(payload["optimiser"])
    schedule.load_state_dict(payload["schedule"])
    torch.set_rng_state(payload["torch_rng"])
    state = TrainState(
        step=int(payload["step"]),
        seconds=float(payload["seconds"]),
        running_loss=payload["running_loss"],
        history=list(payload["history"]),
        fingerprint=fingerprint,
        finish=payload.get("finish"),
    )
    return state, payload["sampler"]
