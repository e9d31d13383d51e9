"""Scoring a model on a dataset with other classes: a declared table from the model's classes to the
dataset's (a Cityscapes-19 model on CamVid-11).

``MappedSegmenter`` sums the model's probabilities into the dataset's classes (several model classes
may go to one dataset class; a model class mapped to nothing, e.g. Cityscapes' ``train`` on CamVid,
has its mass dropped and the rest renormalised), so every metric, the blend and calibration run on
the dataset's classes unchanged. Temperatures apply to the model's own logits, before the mapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.capabilities import capabilities_of
from models.sidecar import read_sidecar_file

# Cityscapes' 19 train classes onto SegNet's CamVid 11 (null: no CamVid class; its mass is dropped).
CITYSCAPES19_TO_CAMVID11: dict[str, str | None] = {
    "road": "Road", "sidewalk": "Pavement", "building": "Building", "wall": "Building", "fence": "Fence",
    "pole": "Pole", "traffic light": "SignSymbol", "traffic sign": "SignSymbol", "vegetation": "Tree",
    "terrain": "Tree", "sky": "Sky", "person": "Pedestrian", "rider": "Bicyclist", "car": "Car",
    "truck": "Car", "bus": "Car", "train": "Car", "motorcycle": "Bicyclist", "bicycle": "Bicyclist",
}
BUILT_IN = {"cityscapes19-camvid11": CITYSCAPES19_TO_CAMVID11}


def read_label_map(spec: str) -> dict[str, str | None]:
    """A built-in table by name (``cityscapes19-camvid11``) or a YAML/JSON file ``{model class: dataset class}``."""
    if spec in BUILT_IN:
        return dict(BUILT_IN[spec])
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"label map {spec!r} is neither a file nor a built-in table ({', '.join(BUILT_IN)})")
    data: Any = read_sidecar_file(path)
    return {str(k): (None if v is None else str(v)) for k, v in data.items()}


def mapping_matrix(table: Mapping[str, str | None], model_classes: Sequence[str],
                   data_classes: Sequence[str]) -> np.ndarray:
    """``(len(data_classes), len(model_classes))`` 0/1 matrix; raises naming classes that do not fit."""
    unknown_model = sorted(set(table) - set(model_classes))
    if unknown_model:
        raise ValueError(f"the label map names classes the model does not have: {', '.join(unknown_model)}")
    unmapped = [c for c in model_classes if c not in table]
    if unmapped:
        raise ValueError(f"the label map does not say where these model classes go (null drops one): "
                         f"{', '.join(unmapped)}")
    index = {name: i for i, name in enumerate(data_classes)}
    unknown_data = sorted({v for v in table.values() if v is not None and v not in index})
    if unknown_data:
        raise ValueError(f"the label map names classes the labels do not have: {', '.join(unknown_data)}; "
                         f"they have {', '.join(data_classes)}")
    matrix = np.zeros((len(data_classes), len(model_classes)), np.float32)
    for j, name in enumerate(model_classes):
        target = table[name]
        if target is not None:
            matrix[index[target], j] = 1.0
    return matrix


class MappedSegmenter:
    """``inner`` with its probabilities summed into the dataset's classes (``meta`` says the dataset's)."""

    def __init__(self, inner: Any, matrix: np.ndarray, class_names: Sequence[str],
                 palette: Sequence[tuple[int, int, int]]) -> None:
        self.inner = inner
        self.device = inner.device
        self.backend = inner.backend
        self.capabilities = capabilities_of(inner)
        self.has_dropout = self.capabilities.mc
        self.meta = replace(inner.meta, class_names=tuple(class_names), palette=tuple(palette))
        self._matrix = torch.from_numpy(matrix).to(inner.device)

    def prepare(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        return self.inner.prepare(frames)

    @torch.inference_mode()
    def predict(
        self, batch: torch.Tensor, mc: bool, temperature: float = 1.0, rate: float | None = None
    ) -> torch.Tensor:
        probs = self.inner.predict(batch, mc, temperature, rate)
        mapped = torch.einsum("dm,bmhw->bdhw", self._matrix, probs.float())
        floor = torch.finfo(torch.float32).tiny
        return mapped / mapped.sum(dim=1, keepdim=True).clamp_min(floor)


def map_labels(segmenter: Any, spec: str, class_names: Sequence[str],
               palette: Sequence[tuple[int, int, int]]) -> MappedSegmenter:
    """``segmenter`` scored on ``class_names`` through the label map ``spec`` (raises ``ValueError``)."""
    matrix = mapping_matrix(read_label_map(spec), segmenter.meta.class_names, class_names)
    return MappedSegmenter(segmenter, matrix, class_names, palette)
