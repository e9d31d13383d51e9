"""Report: target checks, JSON without NaN, markdown tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evaluation.markdown import render_markdown
from evaluation.report import check_targets, json_safe, write_json

MODES = {
    "dnn": {"nll": 1.0, "ece": 0.10},
    "bnn": {"nll": 0.80, "ece": 0.05},
    "vqbnn": {"nll": 0.82, "ece": 0.05},
}


def test_targets_are_checked_against_the_issue() -> None:
    ratios = {"vqbnn_over_dnn_fps": 0.97, "vqbnn_over_bnn_fps": 20.0}
    out = check_targets(MODES, ratios, samples=30)
    assert out["vqbnn_nll_below_dnn"]["value"] == pytest.approx(0.18) and out["vqbnn_nll_below_dnn"]["met"]
    assert out["vqbnn_ece_below_dnn"]["value"] == pytest.approx(0.5) and out["vqbnn_ece_below_dnn"]["met"]
    assert out["vqbnn_nll_over_bnn"]["value"] == pytest.approx(0.025) and out["vqbnn_nll_over_bnn"]["met"]
    assert out["vqbnn_over_dnn_fps"]["met"] and out["vqbnn_over_bnn_fps"]["met"] is False
    assert "note" not in out["vqbnn_over_bnn_fps"]


def test_fewer_bnn_samples_scale_the_speed_target_and_say_so() -> None:
    out = check_targets(MODES, {"vqbnn_over_bnn_fps": 7.0}, samples=8)
    assert out["vqbnn_over_bnn_fps"]["met"] and "N=8" in out["vqbnn_over_bnn_fps"]["note"]
    assert "N=8" in out["vqbnn_nll_over_bnn"]["note"]
    assert check_targets({"dnn": MODES["dnn"]}, {}, 30) == {}
    undefined = check_targets({"dnn": {"nll": 0.0, "ece": 0.0}, "vqbnn": MODES["vqbnn"]}, {}, 30)
    assert undefined["vqbnn_nll_below_dnn"]["met"] is None


def test_json_has_no_nan(tmp_path: Path) -> None:
    data = {"a": math.nan, "b": [1.0, math.inf, (2, 3)], "c": {"d": Path("x")}}
    assert json_safe(data) == {"a": None, "b": [1.0, None, [2, 3]], "c": {"d": "x"}}
    path = write_json(tmp_path / "sub" / "r.json", data)
    assert json.loads(path.read_text())["a"] is None


def test_markdown_lists_every_mode_with_percentages() -> None:
    metrics = {
        "nll": 0.5,
        "acc": 0.9,
        "miou": 0.6,
        "ece": 0.0123,
        "ece15": 0.02,
        "brier": 0.1,
        "acc90": 0.95,
        "unc90": 0.5,
        "auroc": 0.8,
        "flicker": 0.01,
        "fps": 30.0,
    }
    report = {
        "config": {"model": "m", "tau": 1 / 12, "quick": True, "wall_seconds": 12.3, "device": "cpu"},
        "modes": {"dnn": metrics, "vqbnn": {**metrics, "auroc": None}},
        "ratios": {"vqbnn_over_dnn_fps": 0.97, "vqbnn_over_bnn_fps": 27.0},
        "targets": check_targets(MODES, {"vqbnn_over_dnn_fps": 0.97}, 30),
        "per_sequence": {"s1": {"dnn": metrics, "vqbnn": metrics}},
        "real": {"clips": {}, "missing": {"vtest": "not found; install with: apt-get install opencv-doc"}, "modes": {}},
    }
    text = render_markdown(report)
    assert "| `dnn` | 0.500 | 90.0 | 60.0 | 1.23 |" in text and "| `vqbnn` |" in text and "n/a" in text
    assert "vqbnn/dnn = 0.97x" in text and "vqbnn/bnn = 27.0x" in text and "--quick" in text
    assert "apt-get install opencv-doc" in text and "Wall time: 12 s." in text
    assert "| vqbnn NLL below dnn (relative) | 18.0 % | >= 15 % | yes |" in text
