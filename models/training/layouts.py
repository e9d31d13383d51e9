"""Users' labelled folders as published: which files pair with which labels, and how labels decode.

Layouts (detected in this order):

- **Cityscapes**: ``DIR/leftImg8bit/<split>/<city>/*_leftImg8bit.png`` with
  ``DIR/gtFine/<split>/<city>/*_gtFine_labelIds.png``; label ids map to the 19 training classes.
- **SegNet CamVid** (the 11-class CamVid most work uses): ``DIR/<split>/*.png`` with index labels of the
  same name in ``DIR/<split>annot/``; classes 0..10 as in ``CAMVID11``, 11 = void (ignored).
- **CamVid colour labels**: images in ``DIR/<split>/`` (or ``DIR/``), colour labels ``<stem>_L.png`` in
  ``DIR/<split>_labels/`` (or beside the images). Classes from ``class_dict.csv`` (``name,r,g,b``) or
  ``label_colors.txt`` (``r g b<tab>Name``); the original 32 CamVid classes (that list, or no list at all)
  are merged into the 11 standard ones. Colours not in the list become 255 (ignored).

Every layout yields :class:`LabelledFile` rows (image path, label path) and one :class:`LabelCodec`
that turns a label file into class indices with 255 for "ignore".
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from models.training.camvid_classes import (
    CAMVID11_VOID,
    camvid11_names,
    camvid11_palette,
    camvid32_colour_to_11,
    is_camvid32,
)
from models.training.cityscapes_classes import CITYSCAPES_CLASSES

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
IGNORE = 255


@dataclass(frozen=True)
class LabelledFile:
    image: Path
    label: Path

    @property
    def stem(self) -> str:
        return self.image.stem


@dataclass(frozen=True)
class LabelCodec:
    """Decodes one layout's label files: ``index_lut`` for index images, ``colours`` for colour images."""

    class_names: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]
    index_lut: np.ndarray | None = None
    colours: dict[tuple[int, int, int], int] = field(default_factory=dict)

    def decode(self, path: Path) -> np.ndarray:
        """``(h, w)`` uint8 class indices, 255 where the label says void or is unknown."""
        if self.index_lut is not None:
            raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if raw is None or raw.ndim != 2:
                raise ValueError(f"cannot read single-channel label map {path}")
            return self.index_lut[np.clip(raw, 0, 255).astype(np.uint8)]
        return colours_to_indices(read_rgb(path), self.colours)


@dataclass(frozen=True)
class LabelledFolder:
    layout: str
    files: tuple[LabelledFile, ...]
    codec: LabelCodec


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def colours_to_indices(rgb: np.ndarray, colours: dict[tuple[int, int, int], int]) -> np.ndarray:
    codes = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    out = np.full(rgb.shape[:2], IGNORE, np.uint8)
    for (r, g, b), index in colours.items():
        out[codes == ((r << 16) | (g << 8) | b)] = index
    return out


def read_class_list(root: Path) -> tuple[tuple[str, ...], tuple[tuple[int, int, int], ...]] | None:
    """``class_dict.csv`` or ``label_colors.txt`` in ``root``; None when there is neither."""
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
        return None
    if len(names) < 2:
        raise ValueError(f"{root}: the class list names fewer than 2 classes")
    return tuple(names), tuple(colours)


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.stem.endswith("_L"))


def _cityscapes(root: Path, split: str) -> LabelledFolder:
    lut = np.full(256, IGNORE, np.uint8)
    for train_id, (label_id, _, _) in enumerate(CITYSCAPES_CLASSES):
        lut[label_id] = train_id
    files = []
    for path in sorted((root / "leftImg8bit" / split).glob("*/*_leftImg8bit.png")):
        stem = path.name.removesuffix("_leftImg8bit.png")
        label = root / "gtFine" / split / path.parent.name / f"{stem}_gtFine_labelIds.png"
        if label.is_file():
            files.append(LabelledFile(path, label))
    if not files:
        raise ValueError(f"{root}: no leftImg8bit/{split} images with gtFine labelIds")
    names = tuple(name for _, name, _ in CITYSCAPES_CLASSES)
    palette = tuple(colour for _, _, colour in CITYSCAPES_CLASSES)
    return LabelledFolder("cityscapes", tuple(files), LabelCodec(names, palette, index_lut=lut))


def _segnet(root: Path, split: str) -> LabelledFolder:
    image_dir, label_dir = root / split, root / f"{split}annot"
    files = [LabelledFile(p, label_dir / p.name) for p in _images(image_dir) if (label_dir / p.name).is_file()]
    if not files:
        raise ValueError(f"{image_dir}: no images with index labels of the same name in {label_dir}")
    lut = np.full(256, IGNORE, np.uint8)
    names = camvid11_names()
    lut[: len(names)] = np.arange(len(names), dtype=np.uint8)
    lut[CAMVID11_VOID] = IGNORE
    return LabelledFolder("segnet-camvid", tuple(files), LabelCodec(names, camvid11_palette(), index_lut=lut))


def _camvid_colour(root: Path, split: str) -> LabelledFolder:
    listed = read_class_list(root)
    if listed is None or is_camvid32(listed[0]):
        codec = LabelCodec(camvid11_names(), camvid11_palette(), colours=camvid32_colour_to_11())
    else:
        names, palette = listed
        codec = LabelCodec(names, palette, colours={c: i for i, c in enumerate(palette)})
    image_dir = root / split if (root / split).is_dir() else root
    label_dir = root / f"{split}_labels" if (root / f"{split}_labels").is_dir() else image_dir
    files = [
        LabelledFile(p, label_dir / f"{p.stem}_L.png")
        for p in _images(image_dir)
        if (label_dir / f"{p.stem}_L.png").is_file()
    ]
    if not files:
        raise ValueError(f"{image_dir}: no images with <stem>_L.png labels in {label_dir}")
    return LabelledFolder("camvid-colour", tuple(files), codec)


def find_labelled_files(root: str | Path, split: str) -> LabelledFolder:
    """Detect the layout of ``root`` and list ``split``'s labelled files (sorted by name)."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"no such data folder: {root}")
    if (root / "leftImg8bit").is_dir() and (root / "gtFine").is_dir():
        return _cityscapes(root, split)
    if (root / f"{split}annot").is_dir():
        return _segnet(root, split)
    return _camvid_colour(root, split)
