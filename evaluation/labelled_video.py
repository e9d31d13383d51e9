"""A user's labelled folder as video: frames grouped into sequences by name and frame number.

A file name ``<prefix><digits>`` (e.g. CamVid's ``0016E5_07959``: sequence ``0016E5``, frame 7959;
a trailing ``_``, ``-``, ``.`` or space after the prefix is a separator) is frame ``digits`` of
sequence ``prefix``; a name without trailing digits is a sequence of its own. A frame's capture time
is ``frame number / camera_fps`` seconds (CamVid's numbers count its 30 Hz camera's frames, so its
15 Hz labelled video comes out 1/15 s apart). Within a sequence, frames are ordered by number and the
sequence is split wherever two consecutive labelled frames are more than ``max_gap`` seconds apart:
the gap after which a streaming session resets its buffer (``StreamConfig.max_gap``), so eval blends
exactly the frames the server would. A piece of one frame is a still (no labelled neighbour).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from evaluation.suite import EvalSequence
from models.training.layouts import LabelCodec, LabelledFile, LabelledFolder, read_rgb

FRAME_NAME = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)$")
SEPARATORS = "_-. "
CAMERA_FPS = 30.0


@dataclass(frozen=True)
class LabelledFrame:
    """One labelled file placed in time: its sequence, frame number and capture time in seconds."""

    file: LabelledFile
    sequence: str
    number: int | None
    timestamp: float


@dataclass(frozen=True)
class FrameRun:
    """Consecutive labelled frames of one sequence with no gap above ``max_gap`` between them."""

    name: str
    sequence: str
    frames: tuple[LabelledFrame, ...]

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def is_still(self) -> bool:
        return len(self.frames) == 1


@dataclass(frozen=True)
class LabelledVideo:
    """A folder split into video ``sequences`` (two frames or more) and ``stills``."""

    sequences: tuple[FrameRun, ...]
    stills: tuple[FrameRun, ...]
    camera_fps: float
    max_gap: float

    @property
    def sequence_frames(self) -> int:
        return sum(len(r) for r in self.sequences)


def parse_frame_name(stem: str) -> tuple[str, int | None]:
    """``(sequence, frame number)`` of a file stem; ``(stem, None)`` when it has no trailing number."""
    match = FRAME_NAME.match(stem)
    if match is None:
        return stem, None
    return match.group("prefix").rstrip(SEPARATORS), int(match.group("number"))


def place_frames(files: Sequence[LabelledFile], camera_fps: float = CAMERA_FPS) -> list[LabelledFrame]:
    """Every file with its sequence, number and timestamp, ordered by (sequence, number, name)."""
    if not camera_fps > 0:
        raise ValueError(f"camera fps must be > 0, got {camera_fps}")
    frames = []
    for file in files:
        sequence, number = parse_frame_name(file.stem)
        if number is None:
            sequence = file.stem
        timestamp = 0.0 if number is None else number / camera_fps
        frames.append(LabelledFrame(file, sequence, number, timestamp))
    return sorted(frames, key=lambda f: (f.sequence, -1 if f.number is None else f.number, f.file.stem))


def split_runs(frames: Sequence[LabelledFrame], max_gap: float) -> list[FrameRun]:
    """Cut the ordered frames into runs: a new run at every new sequence and after every gap > max_gap."""
    if not max_gap > 0:
        raise ValueError(f"max_gap must be > 0 seconds, got {max_gap}")
    pieces: list[list[LabelledFrame]] = []
    for frame in frames:
        last = pieces[-1][-1] if pieces else None
        joins = (
            last is not None
            and last.sequence == frame.sequence
            and last.number is not None
            and frame.number is not None
            and frame.timestamp - last.timestamp <= max_gap
        )
        if joins:
            pieces[-1].append(frame)
        else:
            pieces.append([frame])
    counts: dict[str, int] = {}
    for piece in pieces:
        counts[piece[0].sequence] = counts.get(piece[0].sequence, 0) + 1
    runs = []
    for piece in pieces:
        first = piece[0]
        name = first.sequence or "frames"
        if counts[first.sequence] > 1 and first.number is not None:
            name = f"{name}@{first.number}"
        runs.append(FrameRun(name, first.sequence, tuple(piece)))
    return runs


def labelled_video(folder: LabelledFolder, camera_fps: float = CAMERA_FPS, max_gap: float = 2.0) -> LabelledVideo:
    """Group ``folder``'s files into sequences and stills (see the module docstring)."""
    runs = split_runs(place_frames(folder.files, camera_fps), max_gap)
    return LabelledVideo(
        sequences=tuple(r for r in runs if not r.is_still),
        stills=tuple(r for r in runs if r.is_still),
        camera_fps=camera_fps,
        max_gap=max_gap,
    )


def load_run(run: FrameRun, codec: LabelCodec) -> EvalSequence:
    """Read a run's images and labels (uint8 class indices, 255 = ignore) into an ``EvalSequence``."""
    images, labels = [], []
    for frame in run.frames:
        images.append(read_rgb(frame.file.image))
        labels.append(codec.decode(frame.file.label))
    first = run.frames[0]
    tags = {"sequence": run.sequence, "first_frame": "" if first.number is None else str(first.number)}
    return EvalSequence(run.name, images, [f.timestamp for f in run.frames], labels, tags)


def load_runs(runs: Sequence[FrameRun], codec: LabelCodec) -> Iterator[EvalSequence]:
    """The runs read one at a time (a large folder never sits in memory whole)."""
    for run in runs:
        yield load_run(run, codec)
