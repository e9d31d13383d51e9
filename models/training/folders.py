"""Users' labelled folders loaded into memory at training resolution (layouts: ``layouts.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.training.dataset import FrameSet, resize_pair
from models.training.layouts import colours_to_indices, find_labelled_files, read_rgb


def colour_labels_to_indices(rgb: np.ndarray, palette: tuple[tuple[int, int, int], ...]) -> np.ndarray:
    """Colour labels -> index of the colour in ``palette``; colours not in it become 255."""
    return colours_to_indices(rgb, {colour: i for i, colour in enumerate(palette)})


def load_folder(root: str | Path, split: str, size: tuple[int, int]) -> FrameSet:
    """Detect the layout of ``root`` and load its ``split`` resized to ``size`` = (h, w)."""
    folder = find_labelled_files(root, split)
    images, labels = [], []
    for item in folder.files:
        image, label = resize_pair(read_rgb(item.image), folder.codec.decode(item.label), size)
        images.append(image)
        labels.append(label)
    return FrameSet(np.stack(images), np.stack(labels), folder.codec.class_names, folder.codec.palette)
