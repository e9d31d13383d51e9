"""``vqseg eval`` end to end on a tiny model and tiny sequences: JSON shape, ranges, files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vqseg.cli import main

REQUIRED = ("nll", "acc", "miou", "ece", "brier", "acc90", "unc90", "auroc", "flicker", "fps")


@pytest.fixture(scope="module")
def checkpoint(street_checkpoint: Path) -> Path:
    return street_checkpoint


def write_clip(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (40, 30))
    rng = np.random.default_rng(0)
    for _ in range(12):
        writer.write(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))
    writer.release()
    return path


def test_quick_eval_writes_report_tables_and_pictures(checkpoint: Path, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "real.avi")
    out = tmp_path / "eval"
    argv = [
        "eval",
        "--model",
        str(checkpoint),
        "--quick",
        "--frames",
        "3",
        "--size",
        "48x64",
        "--samples",
        "2",
        "--real-clip",
        str(clip),
        "--real-frames",
        "4",
        "--fps-rounds",
        "1",
        "--fps-frames",
        "1",
        "--out",
        str(out),
        "--json",
        str(tmp_path / "report.json"),
        "--no-progress",
        "--threads",
        "1",
    ]
    assert main(argv) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert list(report["modes"]) == ["dnn", "bnn", "vqdnn", "vqbnn"]
    for mode in report["modes"].values():
        assert set(REQUIRED) <= set(mode)
        assert mode["nll"] > 0 and mode["fps"] > 0 and 0 <= mode["brier"] <= 2
        for key in ("acc", "miou", "ece", "ece15", "unc90", "flicker", "auroc"):
            assert mode[key] is None or 0 <= mode[key] <= 1, key
    assert report["ratios"]["vqbnn_over_dnn_fps"] > 0 and report["ratios"]["vqbnn_over_bnn_fps"] > 0
    config = report["config"]
    assert config["quick"] and config["samples"] == 2 and config["sequences"] == 2 and config["frames"] == 3
    assert config["window"] == 6 and config["tau"] == pytest.approx(1.25 / 15) and config["wall_seconds"] > 0
    assert config["network_size"] == "24x32" and config["model_name"] == "tiny-eval"
    assert set(report["per_sequence"]) == set(config["sequence_names"])
    assert report["reliability"]["vqbnn"]["counts"] and set(report["targets"]) >= {"vqbnn_nll_below_dnn"}
    real = report["real"]
    assert real["clips"]["real"]["frames"] == 4 and real["missing"] == {}
    for mode in real["modes"].values():
        assert 0 <= mode["auroc_entropy"] <= 1 and 0 <= mode["auroc_mutual_info"] <= 1
        assert mode["real"]["frames"] == 4 and mode["synthetic"]["frames"] == 6
    assert "| `vqbnn` |" in (out / "eval.md").read_text()
    for name in ("reliability.png", "modes_synthetic.png", "modes_real.png"):
        image = cv2.imread(str(out / name))
        assert image is not None and image.shape[0] > 100, name


@pytest.mark.parametrize("extra", [["--model", "does/not/exist.pt"], ["--seed", "0"], ["--window", "99"]])
def test_bad_input_fails_with_a_message(
    checkpoint: Path, extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["eval", "--model", str(checkpoint), "--quick", "--out", str(tmp_path), "--no-progress", *extra]
    assert main(argv) == 2
    assert "vqseg eval:" in capsys.readouterr().err
    assert not (tmp_path / "eval.json").exists()
