"""Class-set presets: names and palettes of the label sets most published models are trained on.

A foreign model's sidecar names one (``preset: cityscapes19``) instead of listing 19 names and colours.
``camvid11`` is SegNet's CamVid order (vqseg's own), ``cityscapes19`` the Cityscapes train ids,
``ade20k150`` the ADE20K SceneParsing-150 order with its usual palette (label 0, "other", excluded).
"""

from __future__ import annotations

from dataclasses import dataclass

from models.presets_ade20k import ADE20K150
from models.training.camvid_classes import CAMVID11
from models.training.cityscapes_classes import CITYSCAPES_CLASSES

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class ClassSet:
    name: str
    class_names: tuple[str, ...]
    palette: tuple[Colour, ...]


PRESETS: dict[str, ClassSet] = {
    "camvid11": ClassSet(
        "camvid11", tuple(n for n, _ in CAMVID11), tuple(c for _, c in CAMVID11)
    ),
    "cityscapes19": ClassSet(
        "cityscapes19", tuple(n for _, n, _ in CITYSCAPES_CLASSES), tuple(c for _, _, c in CITYSCAPES_CLASSES)
    ),
    "ade20k150": ClassSet("ade20k150", tuple(n for n, _ in ADE20K150), tuple(c for _, c in ADE20K150)),
}


def class_set(name: str) -> ClassSet:
    """The preset called ``name`` (case and ``-``/``_`` ignored); an unknown name lists the choices."""
    key = name.strip().lower().replace("-", "").replace("_", "")
    if key not in PRESETS:
        raise ValueError(f"unknown class-set preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[key]


def generated_palette(count: int) -> tuple[Colour, ...]:
    """Distinct colours for ``count`` classes that have none (golden-ratio hues, two brightness levels)."""
    import colorsys

    colours = []
    for i in range(count):
        hue = (i * 0.618033988749895) % 1.0
        value = 0.95 if i % 2 == 0 else 0.7
        r, g, b = colorsys.hsv_to_rgb(hue, 0.75, value)
        colours.append((round(r * 255), round(g * 255), round(b * 255)))
    return tuple(colours)
