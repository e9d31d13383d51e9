"""The ONNX backend behind the real server (uvicorn + HTTP client) and the ``vqseg eval`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.onnx import export_onnx
from synthetic import CLASS_NAMES
from tests.conftest import tiny_street_model
from tests.server.conftest import decode_png, launch, make_frame
from vqseg.cli import main

JPEG = {"Content-Type": "image/jpeg"}


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny network with the synthetic scenes' classes, exported to ONNX (live dropout)."""
    model, meta = tiny_street_model("tiny-onnx")
    out = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    return export_onnx((model, meta), out, exporter="torchscript").path


def test_server_serves_an_onnx_file(onnx_model: Path) -> None:
    live = launch(onnx_model)
    try:
        with live.client() as client:
            model = client.get("/v1/model").json()
            frame = make_frame(4)
            one = client.post("/v1/segment", content=frame, headers=JPEG)
            two = client.post("/v1/segment", content=frame, headers=JPEG).json()
            bnn = client.post("/v1/segment", content=frame, headers=JPEG, params={"mode": "bnn", "samples": 3})
            bodies = [
                client.post(
                    "/v1/streams/onnx-cam/frames", content=make_frame(i), headers=JPEG, params={"timestamp": i / 15}
                ).json()
                for i in range(4)
            ]
            client.delete("/v1/streams/onnx-cam")
    finally:
        live.stop()
    assert model["backend"] == "onnx" and model["device"] == "cpu" and model["input_size"] == [24, 32]
    assert one.status_code == 200, one.text
    assert bnn.status_code == 200, bnn.text
    labels = decode_png(one.json()["labels"])
    assert labels.shape == (60, 80) and labels.max() < len(CLASS_NAMES)
    assert np.array_equal(labels, decode_png(two["labels"])), "dnn through ONNX is deterministic"
    assert [b["buffer_len"] for b in bodies] == [1, 2, 3, 4] and {b["mode"] for b in bodies} == {"vqbnn"}


def test_eval_runs_on_the_onnx_backend(onnx_model: Path, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    argv = [
        "eval",
        "--model",
        str(onnx_model),
        "--backend",
        "onnx",
        "--quick",
        "--sequences",
        "1",
        "--frames",
        "3",
        "--size",
        "48x64",
        "--samples",
        "2",
        "--fps-rounds",
        "1",
        "--fps-frames",
        "1",
        "--out",
        str(tmp_path / "eval"),
        "--json",
        str(report_path),
        "--no-progress",
        "--threads",
        "1",
    ]
    assert main(argv) == 0
    report = json.loads(report_path.read_text())
    assert report["config"]["backend"] == "onnx" and report["config"]["model_name"] == "tiny-onnx"
    assert list(report["modes"]) == ["dnn", "bnn", "vqdnn", "vqbnn"]
    for mode in report["modes"].values():
        assert mode["nll"] > 0 and mode["fps"] > 0
