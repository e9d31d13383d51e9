"""``vqseg harvest export``: harvested frames as folders labelling tools and ``vqseg train`` read.

- ``cvat/``: CVAT's "Segmentation mask 1.1" import (Pascal VOC style): ``labelmap.txt``,
  ``ImageSets/Segmentation/default.txt``, ``JPEGImages/<id>.jpg`` and the predicted labels as colour
  masks in ``SegmentationClass/<id>.png`` (the pre-annotation to correct); also zipped as ``cvat.zip``.
- ``segnet/``: the SegNet CamVid layout ``vqseg train --data`` reads: ``<split>/<id>.png`` with index
  labels ``<split>annot/<id>.png`` (classes 0..10 of the 11 CamVid classes, 11 = void), for models
  with the CamVid classes (the default model). After correcting labels in CVAT, export its masks back
  over ``<split>annot``; as exported, the labels are the model's own predictions.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from server.events.harvest import CLASSES, ITEMS, MANIFEST
from vqseg_client.drawing import colorize_labels

FORMATS = ("cvat", "segnet")


@dataclass(frozen=True)
class Harvested:
    item_id: str
    folder: Path
    meta: dict[str, object]


def read_harvest(root: str | Path) -> tuple[list[Harvested], list[str], list[list[int]]]:
    """The complete items of a harvest folder (manifest order), its class names and palette."""
    root = Path(root)
    classes_file = root / CLASSES
    if not classes_file.is_file():
        raise ValueError(f"{root} is not a harvest folder (no {CLASSES})")
    classes = json.loads(classes_file.read_text())
    items = []
    manifest = root / MANIFEST
    lines = manifest.read_text().splitlines() if manifest.exists() else []
    for line in filter(None, (line.strip() for line in lines)):
        meta = json.loads(line)
        folder = root / ITEMS / str(meta["id"])
        if (folder / "item.json").is_file():  # deleted since (disk budget): skipped
            items.append(Harvested(str(meta["id"]), folder, meta))
    return items, list(classes["classes"]), [list(c) for c in classes["palette"]]


def export_cvat(items: Sequence[Harvested], classes: Sequence[str], palette: Sequence[Sequence[int]],
                out: Path) -> Path:
    root = out / "cvat"
    for sub in ("ImageSets/Segmentation", "JPEGImages", "SegmentationClass"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    lines = ["# label:color_rgb:parts:actions"]
    if not any(tuple(c) == (0, 0, 0) for c in palette):
        lines.append("background:0,0,0::")
    lines += [f"{name}:{','.join(str(v) for v in colour)}::" for name, colour in zip(classes, palette, strict=True)]
    (root / "labelmap.txt").write_text("\n".join(lines) + "\n")
    for item in items:
        shutil.copyfile(item.folder / "image.jpg", root / "JPEGImages" / f"{item.item_id}.jpg")
        labels = _read_labels(item)
        colour = colorize_labels(labels, palette)
        cv2.imwrite(str(root / "SegmentationClass" / f"{item.item_id}.png"), cv2.cvtColor(colour, cv2.COLOR_RGB2BGR))
    (root / "ImageSets/Segmentation/default.txt").write_text("".join(f"{i.item_id}\n" for i in items))
    shutil.make_archive(str(out / "cvat"), "zip", root)
    return root


def export_segnet(items: Sequence[Harvested], num_classes: int, out: Path, split: str = "train") -> Path:
    root = out / "segnet"
    images, annots = root / split, root / f"{split}annot"
    images.mkdir(parents=True, exist_ok=True)
    annots.mkdir(parents=True, exist_ok=True)
    for item in items:
        image = cv2.imread(str(item.folder / "image.jpg"), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read {item.folder / 'image.jpg'}")
        cv2.imwrite(str(images / f"{item.item_id}.png"), image)
        labels = _read_labels(item)
        labels = np.where(labels < num_classes, labels, 11).astype(np.uint8)  # unknown -> void
        cv2.imwrite(str(annots / f"{item.item_id}.png"), labels)
    return root


def export(
    harvest: str | Path, out: str | Path, formats: Sequence[str] = FORMATS, split: str = "train"
) -> dict[str, Path]:
    items, classes, palette = read_harvest(harvest)
    if not items:
        raise ValueError(f"{harvest} holds no harvested frames")
    out = Path(out)
    written: dict[str, Path] = {}
    if "cvat" in formats:
        written["cvat"] = export_cvat(items, classes, palette, out)
    if "segnet" in formats:
        written["segnet"] = export_segnet(items, len(classes), out, split)
    return written


def _read_labels(item: Harvested) -> np.ndarray:
    labels = cv2.imread(str(item.folder / "labels.png"), cv2.IMREAD_UNCHANGED)
    if labels is None or labels.ndim != 2:
        raise ValueError(f"cannot read {item.folder / 'labels.png'}")
    return labels
