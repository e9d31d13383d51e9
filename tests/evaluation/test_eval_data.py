"""``vqseg eval --data`` on a tiny SegNet-layout folder: report shape, label-resolution scores checked by
brute force, temperatures applied, and causality (a frame's result never depends on later frames)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from evaluation.labelled_video import labelled_video, load_run
from evaluation.runner import evaluate_modes
from models import load_checkpoint, load_segmenter, save_checkpoint
from models.training.layouts import find_labelled_files, read_rgb
from streaming import StreamConfig
from tests.evaluation.data_folders import write_segnet
from vqseg.cli import main

VIDEO = [f"0016E5_{7959 + 2 * i:05d}" for i in range(6)]  # 15 Hz: every 2nd frame of the 30 Hz camera
STILLS = ["0001TP_008550", "Seq05VD_f00000"]
TEMPERATURE = 2.5


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_segnet(tmp_path_factory.mktemp("camvid"), VIDEO + STILLS)


@pytest.fixture(scope="module")
def calibrated(street_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, meta = load_checkpoint(street_checkpoint)
    out = tmp_path_factory.mktemp("calibrated") / "t.pt"
    return save_checkpoint(out, model, replace(meta, temperatures={"dnn": TEMPERATURE}))


def run_eval(data: Path, model: Path, out: Path, *extra: str) -> dict:
    argv = ["eval", "--data", str(data), "--model", str(model), "--samples", "2", "--fps-rounds", "1"]
    argv += ["--fps-frames", "1", "--out", str(out), "--no-progress", "--threads", "1", *extra]
    assert main(argv) == 0
    return json.loads((out / "eval.json").read_text())


def brute_force(data: Path, model: Path, stems: list[str], temperature: float) -> tuple[float, np.ndarray]:
    """dnn's mean NLL and per-class IoU at the labels' resolution, counted pixel by pixel."""
    segmenter = load_segmenter(model, "cpu")
    folder = find_labelled_files(data, "val")
    confusion = np.zeros((11, 11), np.int64)
    nll, pixels = 0.0, 0
    for file in (f for f in folder.files if f.stem in stems):
        label = folder.codec.decode(file.label)
        probs = segmenter.predict(segmenter.prepare([read_rgb(file.image)]), mc=False, temperature=temperature)
        up = F.interpolate(probs, size=label.shape, mode="bilinear", align_corners=False)[0].numpy()
        predicted = up.argmax(axis=0)
        for y in range(label.shape[0]):
            for x in range(label.shape[1]):
                if label[y, x] == 255:
                    continue
                confusion[label[y, x], predicted[y, x]] += 1
                nll -= float(np.log(max(up[label[y, x], y, x], 1e-12)))
                pixels += 1
    tp = np.diag(confusion).astype(float)
    union = confusion.sum(0) + confusion.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return nll / pixels, np.where(union > 0, tp / union, np.nan)


def test_eval_data_scores_sequences_and_stills_at_label_resolution(
    data: Path, calibrated: Path, tmp_path: Path
) -> None:
    report = run_eval(data, calibrated, tmp_path / "eval")
    assert list(report["modes"]) == ["dnn", "bnn", "vqdnn", "vqbnn"]
    assert list(report["stills"]["modes"]) == ["dnn", "bnn"] and report["stills"]["frames"] == 2
    assert report["data"]["sequences"] == [
        {"name": "0016E5", "frames": 6, "first": VIDEO[0], "last": VIDEO[-1], "seconds": pytest.approx(10 / 30)}
    ]
    assert report["config"]["temperatures"] == {"dnn": TEMPERATURE} and report["config"]["calibrated"]
    assert report["config"]["wall_seconds"] > 0 and report["throughput"]["fps"]["vqbnn"] > 0
    assert set(report["targets"]) >= {"vqbnn_nll_below_dnn", "vqbnn_flicker_over_dnn", "vqbnn_over_dnn_fps"}
    for mode in report["modes"].values():
        assert mode["nll"] > 0 and 0 <= mode["acc"] <= 1 and mode["flicker"] is not None
    for group, stems in ((report, VIDEO), (report["stills"], STILLS)):
        nll, iou = brute_force(data, calibrated, stems, TEMPERATURE)
        assert group["modes"]["dnn"]["nll"] == pytest.approx(nll, rel=1e-5)
        got = group["per_class_iou"]["dnn"]
        assert list(got) == list(load_segmenter(calibrated, "cpu").meta.class_names)
        for value, expected in zip(got.values(), iou, strict=True):
            assert (value is None and np.isnan(expected)) or value == pytest.approx(expected, abs=1e-9)
    for name in ("reliability", "frame"):
        assert Path(report["pictures"][name]).is_file()
    markdown = (tmp_path / "eval" / "eval.md").read_text()
    assert "IoU % per class" in markdown and "Stills: 2 frames" in markdown and "Wall time" in markdown


def test_uncalibrated_flag_drops_the_temperatures(data: Path, calibrated: Path, tmp_path: Path) -> None:
    report = run_eval(data, calibrated, tmp_path / "raw", "--modes", "dnn", "--uncalibrated")
    nll, _ = brute_force(data, calibrated, VIDEO, 1.0)
    assert report["modes"]["dnn"]["nll"] == pytest.approx(nll, rel=1e-5)
    assert not report["config"]["calibrated"] and report["config"]["temperatures"] == {}


def test_a_frames_result_does_not_depend_on_later_frames(street_checkpoint: Path, tmp_path: Path) -> None:
    stems = [f"0016E5_{7959 + 2 * i:05d}" for i in range(8)]  # pictured frame: 3/4 in = index 6

    def pictured(root: Path, altered: int | None) -> dict[str, np.ndarray]:
        write_segnet(root, stems)
        if altered is not None:  # a different image at frame ``altered``
            path = root / "val" / f"{stems[altered]}.png"
            path.write_bytes((root / "val" / f"{stems[0]}.png").read_bytes())
        folder = find_labelled_files(root, "val")
        sequence = load_run(labelled_video(folder).sequences[0], folder.codec)
        torch.manual_seed(0)
        segmenter = load_segmenter(street_checkpoint, "cpu")
        runs = evaluate_modes(
            segmenter, [sequence], ["vqdnn", "vqbnn"], StreamConfig(), progress=False, at_label_size=True
        )
        return {m: r.snapshots[sequence.name].entropy for m, r in runs.items()}

    original = pictured(tmp_path / "a", None)
    later_changed = pictured(tmp_path / "b", 7)
    earlier_changed = pictured(tmp_path / "c", 5)
    for mode in ("vqdnn", "vqbnn"):
        np.testing.assert_array_equal(original[mode], later_changed[mode])
        assert not np.array_equal(original[mode], earlier_changed[mode])  # the blend does look back
