"""CamVid's classes: the 11-class set most work uses (SegNet's), and the original 32 colour classes.

The SegNet layout stores labels as class indices 0..10 in the order of ``CAMVID11`` with 11 = void.
The original CamVid release stores colour labels (``*_L.png``) over 32 classes; ``CAMVID32_TO_11``
merges them into the 11 the standard way (as in SegNet's and most later CamVid tables): lane markings
into Road, walls and bridges into Building, trucks and SUVs into Car, and so on; Void stays unlabelled.
"""

from __future__ import annotations

CAMVID11: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("Sky", (128, 128, 128)),
    ("Building", (128, 0, 0)),
    ("Pole", (192, 192, 128)),
    ("Road", (128, 64, 128)),
    ("Pavement", (60, 40, 222)),
    ("Tree", (128, 128, 0)),
    ("SignSymbol", (192, 128, 128)),
    ("Fence", (64, 64, 128)),
    ("Car", (64, 0, 128)),
    ("Pedestrian", (64, 64, 0)),
    ("Bicyclist", (0, 128, 192)),
)
CAMVID11_VOID = 11

# The original CamVid colour classes (label_colors.txt), each with the 11-class name it merges into.
CAMVID32: tuple[tuple[str, tuple[int, int, int], str | None], ...] = (
    ("Animal", (64, 128, 64), "Pedestrian"),
    ("Archway", (192, 0, 128), "Building"),
    ("Bicyclist", (0, 128, 192), "Bicyclist"),
    ("Bridge", (0, 128, 64), "Building"),
    ("Building", (128, 0, 0), "Building"),
    ("Car", (64, 0, 128), "Car"),
    ("CartLuggagePram", (64, 0, 192), "Pedestrian"),
    ("Child", (192, 128, 64), "Pedestrian"),
    ("Column_Pole", (192, 192, 128), "Pole"),
    ("Fence", (64, 64, 128), "Fence"),
    ("LaneMkgsDriv", (128, 0, 192), "Road"),
    ("LaneMkgsNonDriv", (192, 0, 64), "Road"),
    ("Misc_Text", (128, 128, 64), "SignSymbol"),
    ("MotorcycleScooter", (192, 0, 192), "Bicyclist"),
    ("OtherMoving", (128, 64, 64), "Car"),
    ("ParkingBlock", (64, 192, 128), "Pavement"),
    ("Pedestrian", (64, 64, 0), "Pedestrian"),
    ("Road", (128, 64, 128), "Road"),
    ("RoadShoulder", (128, 128, 192), "Pavement"),
    ("Sidewalk", (0, 0, 192), "Pavement"),
    ("SignSymbol", (192, 128, 128), "SignSymbol"),
    ("Sky", (128, 128, 128), "Sky"),
    ("SUVPickupTruck", (64, 128, 192), "Car"),
    ("TrafficCone", (0, 0, 64), "Pole"),
    ("TrafficLight", (0, 64, 64), "SignSymbol"),
    ("Train", (192, 64, 128), "Car"),
    ("Tree", (128, 128, 0), "Tree"),
    ("Truck_Bus", (192, 128, 192), "Car"),
    ("Tunnel", (64, 0, 64), "Building"),
    ("VegetationMisc", (192, 192, 0), "Tree"),
    ("Void", (0, 0, 0), None),
    ("Wall", (64, 192, 0), "Building"),
)
CAMVID32_NAMES = frozenset(name for name, _, _ in CAMVID32)


def camvid11_names() -> tuple[str, ...]:
    return tuple(name for name, _ in CAMVID11)


def camvid11_palette() -> tuple[tuple[int, int, int], ...]:
    return tuple(colour for _, colour in CAMVID11)


def camvid32_colour_to_11() -> dict[tuple[int, int, int], int]:
    """Each original CamVid colour -> its 11-class index (Void and unknown colours are absent)."""
    index = {name: i for i, (name, _) in enumerate(CAMVID11)}
    return {colour: index[target] for _, colour, target in CAMVID32 if target is not None}


def is_camvid32(names: tuple[str, ...]) -> bool:
    """Whether a class list is the original CamVid one (then it is merged into the 11 classes)."""
    return len(names) >= 30 and set(names) <= CAMVID32_NAMES
