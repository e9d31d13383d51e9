"""parse_synthetic_uri."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from synthetic import SYNTHETIC_SCHEME, SceneConfig, StreetSceneVideo, parse_synthetic_uri


def test_full_uri() -> None:
    config = parse_synthetic_uri(
        "synthetic:street?seed=7&w=480&h=360&fps=15&scenario=pan&corruption=fog+noise&severity=0.6&frames=300"
    )
    assert config == SceneConfig(seed=7, width=480, height=360, fps=15.0, scenario="pan",
                                 corruption="fog+noise", severity=0.6, num_frames=300)


@pytest.mark.parametrize("uri", ["synthetic:", "synthetic:street", "SYNTHETIC:street?", "synthetic://street"])
def test_defaults(uri: str) -> None:
    assert parse_synthetic_uri(uri) == SceneConfig()


def test_scheme_constant() -> None:
    assert SYNTHETIC_SCHEME == "synthetic"


def test_encoded_plus_and_cut_every() -> None:
    config = parse_synthetic_uri("synthetic:street?corruption=blur%2Bjpeg&scenario=cuts&cut_every=30")
    assert config.corruption == "blur+jpeg" and config.scenario == "cuts" and config.cut_every == 30


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("synthetic:street?colour=red", "allowed"),
        ("synthetic:street?scenario=fly", "drive"),
        ("synthetic:street?corruption=rain", "noise"),
        ("synthetic:street?seed=abc", "seed"),
        ("synthetic:street?severity=2", "severity"),
        ("synthetic:forest", "street"),
        ("file:street", "synthetic"),
        ("synthetic:street?seed", "no value"),
    ],
)
def test_errors_name_the_problem(uri: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_synthetic_uri(uri)


def test_corruption_on_a_schedule() -> None:
    config = parse_synthetic_uri("synthetic:street?w=64&h=48&corruption=fog&severity=0.9&corrupt_frames=2-3,6-")
    assert config.corrupt_frames == "2-3,6-"
    video = StreetSceneVideo(config)
    clear = StreetSceneVideo(dataclasses.replace(config, corruption="none"))
    foggy = [not np.array_equal(video.frame(i).image, clear.frame(i).image) for i in range(8)]
    assert foggy == [False, False, True, True, False, False, True, True]
    with pytest.raises(ValueError, match="frame range"):
        parse_synthetic_uri("synthetic:street?corrupt_frames=5-2")
