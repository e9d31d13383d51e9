"""The shared plot axes map data to the plot area's corners, and both pictures that use them render."""

import numpy as np

from evaluation.rate_plot import render_rate_ablation
from models.training.plot_axes import draw_axes


def test_axes_map_the_range_to_the_frame_and_clip_outside_values() -> None:
    img = np.full((200, 300, 3), 255, np.uint8)
    axes = draw_axes(img, (40, 20, 30, 50), 10.0, (0.0, 2.0), "t", "x", str, str)
    assert (axes.px(0), axes.px(10)) == (40, 280)
    assert (axes.py(0.0), axes.py(2.0)) == (150, 30)  # bottom, top
    assert axes.py(5.0) == 30 and axes.py(-1.0) == 150
    assert (img != 255).any()  # something was drawn


def test_rate_ablation_picture_renders() -> None:
    report = {"modes": {"vqbnn": {"by_rate": [{"rate": r, "nll": 0.3 + r} for r in (0.1, 0.3)]},
                        "dnn": {"after": {"nll": 0.35}}}}
    img = render_rate_ablation({"tail": report})
    assert img.shape == (460, 760, 3) and (img != 255).any()
