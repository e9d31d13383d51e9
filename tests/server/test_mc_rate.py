"""The server serves a checkpoint's calibrated MC dropout rate (``vqseg calibrate``): /v1/model lists it
and the MC frames it serves sample at that rate."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from models import load_checkpoint, save_checkpoint
from tests.server.conftest import decode_png, launch, make_frame

PNG = {"Content-Type": "image/png"}


def served(checkpoint: Path, frame: bytes, mode: str) -> tuple[np.ndarray, dict]:
    live = launch(checkpoint)
    try:
        with live.client() as client:
            params = {"maps": "confidence", "mode": mode, "samples": 4}
            r = client.post("/v1/segment", content=frame, headers=PNG, params=params)
            info = client.get("/v1/model").json()
    finally:
        live.stop()
    assert r.status_code == 200, r.text
    return decode_png(r.json()["maps"]["confidence"]).astype(np.float64) / 65535.0, info


def test_the_served_mc_rate_comes_from_the_checkpoint(tiny_checkpoint: Path, tmp_path: Path) -> None:
    model, meta = load_checkpoint(tiny_checkpoint)
    assert meta.dropout > 0
    with torch.no_grad():
        model.head.weight.mul_(300.0)  # confident logits: the untrained network reacts visibly to dropout (×30 left
        # a margin of 2x over the threshold, and some mask draws fell under it)
    trained_rate = save_checkpoint(tmp_path / "trained.pt", model, meta)
    rated = save_checkpoint(tmp_path / "rated.pt", model, replace(meta, mc_rates={"bnn": 0.0, "vqbnn": 0.1}))
    frame = make_frame(3, size=meta.input_size, fmt=".png")
    deterministic, info = served(rated, frame, "dnn")
    assert info["mc_rates"] == {"bnn": 0.0, "vqbnn": 0.1}
    assert info["mc_samples"] == {"vqbnn": 1}
    at_zero, _ = served(rated, frame, "bnn")  # rate 0: every MC pass is the deterministic pass
    np.testing.assert_allclose(at_zero, deterministic, atol=1.0 / 65535.0)
    trained, info = served(trained_rate, frame, "bnn")  # the training rate: real samples
    assert info["mc_rates"] == {"vqbnn": meta.dropout, "bnn": meta.dropout}
    assert float(np.abs(trained - deterministic).max()) > 100.0 / 65535.0
