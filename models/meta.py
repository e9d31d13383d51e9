"""What a checkpoint says about its network besides the weights."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelMeta:
    """Architecture and data conventions of a segmentation network.

    ``input_size`` is (height, width): frames are resized to it before the forward pass, and the
    class probabilities come out at that resolution. ``mean``/``std`` normalise RGB values in [0, 1].
    ``temperatures`` maps an inference mode's name (``dnn``, ``bnn``, ``vqdnn``, ``vqbnn``) to the
    temperature its forward passes divide their logits by (``vqseg calibrate``); modes not listed use 1.
    ``mc_rates`` maps an MC mode (``bnn``, ``vqbnn``) to the dropout rate its passes sample with at
    inference (``vqseg calibrate`` fits it); modes not listed use ``dropout``, the training rate.
    ``mc_samples`` maps an MC mode to the dropout samples it draws per frame and averages (``vqbnn``:
    1 unless set; networks whose dropout sits in a cheap tail run the trunk once for all of them).
    """

    arch: str
    class_names: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]
    input_size: tuple[int, int] = (240, 320)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    dropout: float = 0.5
    name: str = "model"
    arch_options: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    temperatures: dict[str, float] = field(default_factory=dict)
    mc_rates: dict[str, float] = field(default_factory=dict)
    mc_samples: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.class_names) < 2:
            raise ValueError("a segmentation model needs at least 2 classes")
        if len(self.palette) != len(self.class_names):
            raise ValueError(
                f"palette has {len(self.palette)} colours for {len(self.class_names)} classes"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {self.dropout}")
        if len(self.input_size) != 2 or min(self.input_size) < 16:
            raise ValueError(f"input_size must be (height, width) >= 16, got {self.input_size}")
        for mode, value in self.temperatures.items():
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 < value <= 100):
                raise ValueError(f"temperature of mode {mode!r} must be in (0, 100], got {value!r}")
        for mode, value in self.mc_rates.items():
            if not (isinstance(value, int | float) and 0.0 <= value < 1.0):
                raise ValueError(f"MC dropout rate of mode {mode!r} must be in [0, 1), got {value!r}")
        for mode, value in self.mc_samples.items():
            if not (isinstance(value, int) and 1 <= value <= 256):
                raise ValueError(f"MC samples per frame of mode {mode!r} must be in 1..256, got {value!r}")

    def temperature(self, mode: str) -> float:
        """The temperature mode ``mode`` applies to its logits (1.0: uncalibrated)."""
        return float(self.temperatures.get(str(mode), 1.0))

    def mc_rate(self, mode: str) -> float:
        """The dropout rate mode ``mode``'s MC passes use at inference (default: the training rate)."""
        return float(self.mc_rates.get(str(mode), self.dropout))

    def samples_per_frame(self, mode: str) -> int:
        """How many MC samples mode ``mode`` averages per frame (1 unless the checkpoint says otherwise)."""
        return int(self.mc_samples.get(str(mode), 1))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["class_names"] = list(self.class_names)
        data["palette"] = [list(c) for c in self.palette]
        data["input_size"] = list(self.input_size)
        data["mean"] = list(self.mean)
        data["std"] = list(self.std)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMeta:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model metadata keys: {sorted(unknown)}")
        return cls(
            arch=str(data["arch"]),
            class_names=tuple(str(n) for n in data["class_names"]),
            palette=tuple((int(c[0]), int(c[1]), int(c[2])) for c in data["palette"]),
            input_size=(int(data["input_size"][0]), int(data["input_size"][1])),
            mean=tuple(float(v) for v in data.get("mean", IMAGENET_MEAN)),  # type: ignore[arg-type]
            std=tuple(float(v) for v in data.get("std", IMAGENET_STD)),  # type: ignore[arg-type]
            dropout=float(data.get("dropout", 0.5)),
            name=str(data.get("name", "model")),
            arch_options=dict(data.get("arch_options", {})),
            training=dict(data.get("training", {})),
            temperatures={str(k): float(v) for k, v in dict(data.get("temperatures", {})).items()},
            mc_rates={str(k): float(v) for k, v in dict(data.get("mc_rates", {})).items()},
            mc_samples={str(k): int(v) for k, v in dict(data.get("mc_samples", {})).items()},
        )
