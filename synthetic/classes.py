"""The 11 CamVid classes the generator paints, their colours, and the ignore index."""

from __future__ import annotations

CLASS_NAMES: tuple[str, ...] = (
    "Sky",
    "Building",
    "Pole",
    "Road",
    "Pavement",
    "Tree",
    "SignSymbol",
    "Fence",
    "Car",
    "Pedestrian",
    "Bicyclist",
)

PALETTE: list[tuple[int, int, int]] = [
    (128, 128, 128),
    (128, 0, 0),
    (192, 192, 128),
    (128, 64, 128),
    (60, 40, 222),
    (128, 128, 0),
    (192, 128, 128),
    (64, 64, 128),
    (64, 0, 128),
    (64, 64, 0),
    (0, 128, 192),
]

NUM_CLASSES: int = len(CLASS_NAMES)
IGNORE_INDEX: int = 255

SKY, BUILDING, POLE, ROAD, PAVEMENT, TREE, SIGN, FENCE, CAR, PEDESTRIAN, BICYCLIST = range(NUM_CLASSES)

# Label value meaning "nothing drawn here" inside sprites and textures (never reaches a frame's labels).
TRANSPARENT: int = 255
