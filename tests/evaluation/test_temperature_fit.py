"""Temperature calibration: the bilinear pixel sample, the served blend, recovering a known temperature,
and ``vqseg calibrate`` end to end on a tiny folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from evaluation.calibration.cache import RunCache
from evaluation.calibration.fit import fit_temperature, mean_nll, served
from evaluation.calibration.pixels import sample_pixels
from models import read_checkpoint
from streaming import Mode, StreamConfig
from tests.evaluation.data_folders import write_segnet
from vqseg.cli import main


@pytest.mark.parametrize(("label_size", "network_size"), [((20, 25), (9, 12)), ((8, 10), (9, 12)), ((9, 12), (9, 12))])
def test_sampled_pixels_equal_torch_bilinear_upsampling(label_size: tuple, network_size: tuple) -> None:
    probs = torch.softmax(torch.randn(5, *network_size, generator=torch.Generator().manual_seed(0)), dim=0)
    sample = sample_pixels(label_size, network_size, count=60, seed=3)
    expected = F.interpolate(probs[None], size=label_size, mode="bilinear", align_corners=False)[0].flatten(1)
    got = sample.at_labels(probs.flatten(1)[:, sample.sources])
    torch.testing.assert_close(got, expected[:, sample.pixels], rtol=0, atol=1e-6)
    assert sample.pixels.unique().numel() == sample.pixels.numel() == min(60, label_size[0] * label_size[1])


def synthetic_cache(true_temperature: float, frames: int = 6, pixels: int = 3000, seed: int = 0) -> RunCache:
    """Logits z and labels drawn from softmax(z / T0): the temperature that explains them is T0."""
    generator = torch.Generator().manual_seed(seed)
    sample = sample_pixels((1, pixels), (1, pixels), pixels)  # identity: label pixel i = network pixel i
    cache = RunCache("synthetic", still=False, sample=sample)
    for i in range(frames):
        logits = 3.0 * torch.randn(5, pixels, generator=generator)
        labels = torch.multinomial(torch.softmax(logits / true_temperature, dim=0).T, 1, generator=generator)[:, 0]
        log_probs = torch.log_softmax(logits, dim=0)  # what the cache holds: logits up to a constant
        cache.timestamps.append(i / 15)
        cache.labels.append(labels)
        cache.deterministic.append(log_probs)
        cache.mc.append(log_probs.expand(3, -1, -1).clone())  # three identical "MC" passes
    return cache


@pytest.mark.parametrize("true_temperature", [0.5, 2.0])
@pytest.mark.parametrize("mode", [Mode.DNN, Mode.BNN])
def test_calibration_recovers_a_known_temperature(true_temperature: float, mode: Mode) -> None:
    fitted = fit_temperature([synthetic_cache(true_temperature)], mode, StreamConfig())
    assert fitted == pytest.approx(true_temperature, rel=0.05)


def test_the_vq_modes_are_fitted_on_the_stream_blend() -> None:
    cache = synthetic_cache(1.5, frames=3, pixels=50)
    config = StreamConfig(tau=0.1, window=6)
    temperature = 1.7
    *_, (last, _) = served(cache, Mode.VQDNN, temperature, config)
    ages = torch.tensor([2 / 15, 1 / 15, 0.0])
    weights = torch.exp(-ages / config.tau)
    weights /= weights.sum()
    expected = sum(w * torch.softmax(z / temperature, dim=0) for w, z in zip(weights, cache.deterministic, strict=True))
    torch.testing.assert_close(last, expected, rtol=1e-5, atol=1e-6)
    fitted = fit_temperature([cache], Mode.VQDNN, config)
    best = mean_nll([cache], Mode.VQDNN, fitted, config)
    for other in (1.0, fitted * 0.9, fitted * 1.1):
        assert best <= mean_nll([cache], Mode.VQDNN, other, config) + 1e-9


def test_calibrate_command_writes_the_temperatures_into_a_checkpoint(street_checkpoint: Path, tmp_path: Path) -> None:
    data = write_segnet(tmp_path / "camvid", [f"0016E5_{7959 + 2 * i:05d}" for i in range(5)] + ["0001TP_008550"])
    out = tmp_path / "calibrated.pt"
    argv = ["calibrate", "--data", str(data), "--model", str(street_checkpoint), "--out", str(out)]
    assert main([*argv, "--samples", "3", "--pixels", "200", "--no-progress", "--threads", "1"]) == 0
    meta, _ = read_checkpoint(out)
    original, _ = read_checkpoint(street_checkpoint)
    assert set(meta.temperatures) == {"dnn", "bnn", "vqdnn", "vqbnn"}
    assert all(0.05 <= t <= 20 and math.isfinite(t) for t in meta.temperatures.values())
    assert meta.class_names == original.class_names and original.temperatures == {}
    report = json.loads(out.with_suffix(".calibration.json").read_text())
    for mode, result in report["modes"].items():
        assert result["temperature"] == pytest.approx(meta.temperatures[mode])
        assert result["after"]["nll"] <= result["before"]["nll"] + 1e-6, mode
        expected_frames = 6 if mode in ("dnn", "bnn") else 5  # vq modes: the sequence only, not the still
        assert result["after"]["frames"] == expected_frames
    assert "→" in out.with_suffix(".calibration.md").read_text()
