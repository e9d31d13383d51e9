"""A labelled folder as video: sequences by name and frame number, order, timestamps, gaps and stills."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluation.labelled_video import (
    LabelledVideo,
    labelled_video,
    load_run,
    parse_frame_name,
    place_frames,
    split_runs,
)
from models.training.layouts import LabelCodec, LabelledFile, LabelledFolder, find_labelled_files
from tests.evaluation.data_folders import write_segnet


@pytest.mark.parametrize(
    ("stem", "sequence", "number"),
    [
        ("0016E5_07959", "0016E5", 7959),
        ("0001TP_008550", "0001TP", 8550),
        ("Seq05VD_f00030", "Seq05VD_f", 30),
        ("aachen_000000_000019", "aachen_000000", 19),
        ("clip-12", "clip", 12),
        ("000123", "", 123),
        ("no_number", "no_number", None),
    ],
)
def test_frame_names_give_sequence_and_number(stem: str, sequence: str, number: int | None) -> None:
    assert parse_frame_name(stem) == (sequence, number)


def files(*stems: str) -> list[LabelledFile]:
    return [LabelledFile(Path(f"{s}.png"), Path(f"annot/{s}.png")) for s in stems]


def test_frames_are_ordered_by_number_and_timestamped_at_the_camera_rate() -> None:
    frames = place_frames(files("A_0100", "B_0003", "A_0098", "A_0099"), camera_fps=30.0)
    assert [f.file.stem for f in frames] == ["A_0098", "A_0099", "A_0100", "B_0003"]
    assert [f.timestamp for f in frames] == pytest.approx([98 / 30, 99 / 30, 100 / 30, 3 / 30])
    other_rate = place_frames(files("A_0100"), camera_fps=10.0)
    assert other_rate[0].timestamp == pytest.approx(10.0)


def test_gaps_over_max_gap_split_a_sequence_and_lone_frames_are_stills() -> None:
    # 30 Hz numbers: A_0000..A_0004 every 2 frames (15 Hz), then 3 s later A_0094, A_0096; B_0050 alone.
    stems = ["A_0000", "A_0002", "A_0004", "A_0094", "A_0096", "B_0050", "A_0300", "plain"]
    video = labelled_video_of(stems, max_gap=2.0)
    assert [(r.name, [f.number for f in r.frames]) for r in video.sequences] == [
        ("A@0", [0, 2, 4]),
        ("A@94", [94, 96]),
    ]
    assert sorted(r.name for r in video.stills) == ["A@300", "B", "plain"]
    assert video.sequence_frames == 5
    # a longer max_gap joins A_0004 and A_0094 (3 s apart) but not A_0300 (6.8 s after A_0096)
    longer = labelled_video_of(stems, max_gap=3.5)
    assert [len(r) for r in longer.sequences] == [5]


def test_a_gap_exactly_max_gap_does_not_split() -> None:
    runs = split_runs(place_frames(files("A_0000", "A_0060"), camera_fps=30.0), max_gap=2.0)
    assert [len(r) for r in runs] == [2]


def labelled_video_of(stems: list[str], max_gap: float) -> LabelledVideo:
    folder = LabelledFolder("test", tuple(files(*stems)), LabelCodec(("a", "b"), ((0, 0, 0), (1, 1, 1))))
    return labelled_video(folder, camera_fps=30.0, max_gap=max_gap)


def test_a_segnet_folder_loads_in_time_order_with_void_ignored(tmp_path: Path) -> None:
    write_segnet(tmp_path, ["0016E5_07963", "0016E5_07959", "0016E5_07961"])
    folder = find_labelled_files(tmp_path, "val")
    video = labelled_video(folder)
    assert len(video.sequences) == 1 and not video.stills
    sequence = load_run(video.sequences[0], folder.codec)
    assert sequence.name == "0016E5"
    assert sequence.timestamps == pytest.approx([7959 / 30, 7961 / 30, 7963 / 30])
    assert len(sequence.images) == 3 and sequence.images[0].shape == (36, 48, 3)
    assert sequence.labels is not None
    assert set(np.unique(sequence.labels[0])) <= {0, 1, 3, 8, 255} and (sequence.labels[0] == 255).any()
