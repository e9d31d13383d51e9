"""StreetSceneVideo: shapes, determinism, random access, seeds, classes, corruptions, cuts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from synthetic import NUM_CLASSES, SceneConfig, StreetSceneVideo, SyntheticFrame

SMALL = {"width": 160, "height": 120}


def test_frame_shapes_and_types() -> None:
    frame = StreetSceneVideo(SceneConfig(**SMALL)).frame(3)
    assert isinstance(frame, SyntheticFrame)
    assert frame.index == 3
    assert frame.timestamp == pytest.approx(3 / 15.0)
    assert frame.image.shape == (120, 160, 3) and frame.image.dtype == np.uint8
    assert frame.labels.shape == (120, 160) and frame.labels.dtype == np.uint8
    assert int(frame.labels.max()) < NUM_CLASSES


def test_same_config_and_index_give_identical_frames() -> None:
    a = StreetSceneVideo(SceneConfig(seed=4, **SMALL)).frame(7)
    b = StreetSceneVideo(SceneConfig(seed=4, **SMALL)).frame(7)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_random_access_matches_iteration() -> None:
    video = StreetSceneVideo(SceneConfig(seed=2, num_frames=6, **SMALL))
    frames = list(video)
    assert len(frames) == len(video) == 6
    fresh = StreetSceneVideo(SceneConfig(seed=2, num_frames=6, **SMALL)).frame(5)
    np.testing.assert_array_equal(frames[5].image, fresh.image)
    np.testing.assert_array_equal(frames[5].labels, fresh.labels)


def test_endless_video_has_no_length_and_bounded_one_rejects_out_of_range() -> None:
    with pytest.raises(TypeError):
        len(StreetSceneVideo(SceneConfig(**SMALL)))
    with pytest.raises(IndexError):
        StreetSceneVideo(SceneConfig(num_frames=3, **SMALL)).frame(3)


def test_different_seeds_give_different_scenes() -> None:
    a = StreetSceneVideo(SceneConfig(seed=0, **SMALL)).frame(0)
    b = StreetSceneVideo(SceneConfig(seed=1, **SMALL)).frame(0)
    assert np.mean(a.labels != b.labels) > 0.1
    assert np.abs(a.image.astype(int) - b.image.astype(int)).mean() > 10


def test_consecutive_frames_are_similar_but_not_identical() -> None:
    video = StreetSceneVideo(SceneConfig(seed=3, **SMALL))
    a, b = video.frame(10), video.frame(11)
    changed = np.mean(a.labels != b.labels)
    assert 0.0 < changed < 0.3
    assert not np.array_equal(a.image, b.image)


@pytest.mark.parametrize("scenario", ["drive", "pan", "static", "cuts"])
def test_every_scenario_renders_the_main_classes(scenario: str) -> None:
    labels = StreetSceneVideo(SceneConfig(seed=5, scenario=scenario, **SMALL)).frame(20).labels
    present = set(np.unique(labels).tolist())
    assert {0, 1, 3} <= present  # sky, building, road


def test_all_classes_appear_in_a_short_default_sequence() -> None:
    video = StreetSceneVideo(SceneConfig(seed=0, width=240, height=180))
    seen: set[int] = set()
    for index in range(0, 150, 10):
        seen |= set(np.unique(video.frame(index).labels).tolist())
    assert seen == set(range(NUM_CLASSES))


@pytest.mark.parametrize("corruption", ["noise", "blur", "fog", "lowlight", "jpeg", "fog+noise"])
def test_corruptions_change_the_image_not_the_labels(corruption: str) -> None:
    clean = StreetSceneVideo(SceneConfig(seed=6, **SMALL)).frame(4)
    bad = StreetSceneVideo(SceneConfig(seed=6, corruption=corruption, severity=0.8, **SMALL)).frame(4)
    np.testing.assert_array_equal(clean.labels, bad.labels)
    assert np.abs(clean.image.astype(int) - bad.image.astype(int)).mean() > 2.0


def test_corrupted_frames_are_deterministic() -> None:
    config = SceneConfig(seed=6, corruption="noise+jpeg+blur", **SMALL)
    a, b = StreetSceneVideo(config).frame(9), StreetSceneVideo(config).frame(9)
    np.testing.assert_array_equal(a.image, b.image)


def test_cuts_change_the_scene_only_at_cut_frames() -> None:
    video = StreetSceneVideo(SceneConfig(seed=8, scenario="cuts", cut_every=10, **SMALL))
    frames = [video.frame(i) for i in range(8, 22)]

    def change(a: SyntheticFrame, b: SyntheticFrame) -> float:
        return float(np.mean(a.labels != b.labels))

    for a, b in itertools.pairwise(frames):
        if b.index in (10, 20):
            assert change(a, b) > 0.25, b.index
        else:
            assert change(a, b) < 0.2, b.index
    assert video.shot_of(9) != video.shot_of(10) == video.shot_of(19) != video.shot_of(20)


@pytest.mark.parametrize(
    "bad",
    [{"scenario": "fly"}, {"corruption": "rain"}, {"severity": 1.5}, {"fps": 0.0}, {"width": 0},
     {"cut_every": 0}, {"num_frames": -1}, {"seed": -3}],
)
def test_invalid_configs_are_rejected(bad: dict) -> None:
    with pytest.raises(ValueError):
        SceneConfig(**bad)


def test_module_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, synthetic; synthetic.StreetSceneVideo(synthetic.SceneConfig(width=64, height=48)).frame(0);" \
           "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
