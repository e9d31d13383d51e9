"""The server applies a checkpoint's per-mode temperature (``vqseg calibrate``) to the frames it serves."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from models import load_checkpoint, load_segmenter, save_checkpoint
from tests.server.conftest import decode_png, launch, make_frame

PNG = {"Content-Type": "image/png"}
TEMPERATURE = 4.0


def served_confidence(checkpoint: Path, frame: bytes) -> np.ndarray:
    live = launch(checkpoint)
    try:
        with live.client() as client:
            r = client.post("/v1/segment", content=frame, headers=PNG, params={"maps": "confidence"})
            info = client.get("/v1/model").json()
    finally:
        live.stop()
    assert r.status_code == 200, r.text
    assert info["temperatures"] == load_checkpoint(checkpoint)[1].temperatures
    return decode_png(r.json()["maps"]["confidence"]).astype(np.float64) / 65535.0


def test_a_frames_probabilities_follow_the_checkpoints_temperature(tiny_checkpoint: Path, tmp_path: Path) -> None:
    model, meta = load_checkpoint(tiny_checkpoint)
    calibrated = save_checkpoint(tmp_path / "calibrated.pt", model, replace(meta, temperatures={"dnn": TEMPERATURE}))
    frame = make_frame(3, size=meta.input_size, fmt=".png")  # at the network's size: no resampling
    image = cv2.cvtColor(cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    segmenter = load_segmenter(tiny_checkpoint, "cpu")
    batch = segmenter.prepare([image])
    expected = {
        t: segmenter.predict(batch, mc=False, temperature=t)[0].max(dim=0).values.double().numpy()
        for t in (1.0, TEMPERATURE)
    }
    raw, tempered = served_confidence(tiny_checkpoint, frame), served_confidence(calibrated, frame)
    quantum = 1.0 / 65535.0
    np.testing.assert_allclose(raw, expected[1.0], atol=quantum)
    np.testing.assert_allclose(tempered, expected[TEMPERATURE], atol=quantum)
    assert float(np.abs(raw - tempered).max()) > 100 * quantum  # the temperature visibly flattened them
