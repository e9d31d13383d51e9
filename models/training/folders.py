"""Users' labelled folders: the CamVid layout and the Cityscapes layout.

CamVid: images in ``DIR/<split>/`` (or ``DIR/``), colour-coded labels ``<stem>_L.png`` in
``DIR/<split>_labels/`` (or beside the images), and a class list: ``class_dict.csv`` (``name,r,g,b``)
or ``label_colors.txt`` (``r g b<tab>Name``). Colours not in the list become 255 (ignored).

Cityscapes: ``DIR/leftImg8bit/<split>/<city>/*_leftImg8bit.png`` with
``DIR/gtFine/<split>/<city>/*_gtFine_labelIds.png``; label ids map to the 19 training classes.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from models.training.dataset import FrameSet, resize_pair

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")

CITYSCAPES_CLASSES: tuple[tuple[int, str, tuple[int, int, int]], ...] = (
    (7, "road", (128, 64, 128)),
    (8, "sidewalk", (244, 35, 232)),
    (11, "building", (70, 70, 70)),
    (12, "wall", (102, 102, 156)),
    (13, "fence", (190, 153, 153)),
    (17, "pole", (153, 153, 153)),
    (19, "traffic light", (250, 170, 30)),
    (20, "traffic sign", (220, 220, 0)),
    (21, "vegetation", (107, 142, 35)),
    (22, "terrain", (152, 251, 152)),
    (23, "sky", (70, 130, 180)),
    (24, "person", (220, 20, 60)),
    (25, "rider", (255, 0, 0)),
    (26, "car", (0, 0, 142)),
    (27, "truck", (0, 0, 70)),
    (28, "bus", (0, 60, 100)),
    (31, "train", (0, 80, 100)),
    (32, "motorcycle", (0, 0, 230)),
    (33, "bicycle", (119, 11, 32)),
)


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_camvid_classes(root: Path) -> tuple[tuple[str, ...], tuple[tuple[int, int, int], ...]]:
    csv_path, txt_path = root / "class_dict.csv", root / "label_colors.txt"
    names: list[str] = []
    colours: list[tuple[int, int, int]] = []
    if csv_path.is_file():
        with csv_path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                names.append(row["name"].strip())
                colours.append((int(row["r"]), int(row["g"]), int(row["b"])))
    elif txt_path.is_file():
        for line in txt_path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 4:
                colours.append((int(parts[0]), int(parts[1]), int(parts[2])))
                names.append(" ".join(parts[3:]))
    else:
        raise ValueError(f"{root}: no class list (class_dict.csv or label_colors.txt)")
    if len(names) < 2:
        raise ValueError(f"{root}: the class list names fewer than 2 classes")
    return tuple(names), tuple(colours)


def colour_labels_to_indices(rgb: np.ndarray, palette: tuple[tuple[int, int, int], ...]) -> np.ndarray:
    codes = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    out = np.full(rgb.shape[:2], 255, np.uint8)
    for index, (r, g, b) in enumerate(palette):
        out[codes == ((r << 16) | (g << 8) | b)] = index
    return out


def load_camvid(root: str | Path, split: str, size: tuple[int, int]) -> FrameSet:
    root = Path(root)
    names, palette = read_camvid_classes(root)
    image_dir = root / split if (root / split).is_dir() else root
    label_dir = root / f"{split}_labels" if (root / f"{split}_labels").is_dir() else image_dir
    images, labels = [], []
    for path in sorted(image_dir.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES or path.stem.endswith("_L"):
            continue
        label_path = label_dir / f"{path.stem}_L.png"
        if not label_path.is_file():
            continue
        image, label = resize_pair(_read_rgb(path), colour_labels_to_indices(_read_rgb(label_path), palette), size)
        images.append(image)
        labels.append(label)
    if not images:
        raise ValueError(f"{image_dir}: no images with <stem>_L.png labels in {label_dir}")
    return FrameSet(np.stack(images), np.stack(labels), names, palette)


def load_cityscapes(root: str | Path, split: str, size: tuple[int, int]) -> FrameSet:
    root = Path(root)
    lut = np.full(256, 255, np.uint8)
    for train_id, (label_id, _, _) in enumerate(CITYSCAPES_CLASSES):
        lut[label_id] = train_id
    images, labels = [], []
    for path in sorted((root / "leftImg8bit" / split).glob("*/*_leftImg8bit.png")):
        stem = path.name.removesuffix("_leftImg8bit.png")
        label_path = root / "gtFine" / split / path.parent.name / f"{stem}_gtFine_labelIds.png"
        if not label_path.is_file():
            continue
        ids = cv2.imread(str(label_path), cv2.IMREAD_GRAYSCALE)
        if ids is None:
            raise ValueError(f"cannot read label map {label_path}")
        image, label = resize_pair(_read_rgb(path), lut[ids], size)
        images.append(image)
        labels.append(label)
    if not images:
        raise ValueError(f"{root}: no leftImg8bit/{split} images with gtFine labelIds")
    names = tuple(name for _, name, _ in CITYSCAPES_CLASSES)
    palette = tuple(colour for _, _, colour in CITYSCAPES_CLASSES)
    return FrameSet(np.stack(images), np.stack(labels), names, palette)


def load_folder(root: str | Path, split: str, size: tuple[int, int]) -> FrameSet:
    """Detect the layout of ``root`` and load its ``split``."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"no such data folder: {root}")
    if (root / "leftImg8bit").is_dir() and (root / "gtFine").is_dir():
        return load_cityscapes(root, split, size)
    return load_camvid(root, split, size)
