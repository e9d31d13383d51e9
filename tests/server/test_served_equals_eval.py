"""Eval measures what is served: a labelled clip streamed through a real server over the WebSocket
and through ``vqseg eval``'s path (``evaluate_modes`` -> ``StreamPipeline`` -> the engine) gives the
same results bit for bit — dnn and vqdnn as they are, vqbnn and bnn with a seeded stream."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from websockets.sync.client import connect

from evaluation.runner import evaluate_modes
from evaluation.suite import EvalSequence
from models import load_segmenter
from server.encode import summary_fields
from server.frame_maps import OutputSpec, maps_to_host
from streaming import Mode, StreamConfig, StreamPipeline
from tests.server.conftest import LiveServer
from vqseg_client.wire import unpack

MAPS = ("confidence", "mutual_info", "expected_entropy")
MC_CHUNK = 4  # the server's default: seeded bnn is identical when eval steps its samples the same way


def labelled_clip(frames: int = 6) -> EvalSequence:
    """A car (class 2) driving across road (0) under sky (1), with sensor noise; 15 fps."""
    rng = np.random.default_rng(3)
    images, labels = [], []
    for i in range(frames):
        label = np.zeros((60, 80), np.uint8)
        label[:30] = 1
        label[22:42, 8 + 4 * i: 30 + 4 * i] = 2
        colours = np.array([(128, 64, 128), (70, 130, 180), (0, 0, 142)], np.int64)
        noisy = colours[label] + rng.integers(-25, 25, (60, 80, 3))
        images.append(np.clip(noisy, 0, 255).astype(np.uint8))
        labels.append(label)
    return EvalSequence("parity", images, [10.0 + i / 15 for i in range(frames)], labels)


def serve_clip(live: LiveServer, stream: str, query: str, clip: EvalSequence) -> tuple[dict[str, Any], list[Any]]:
    """The clip over ``/v1/streams/{stream}/ws`` (protocol 2, float16 maps at the network's size), one
    frame at a time (each answered before the next: nothing dropped); the hello and every result."""
    url = f"{live.ws_url}/v1/streams/{stream}/ws?protocol=2&maps={','.join(MAPS)}&{query}"
    results = []
    with connect(url, max_size=None) as ws:
        hello = json.loads(ws.recv(timeout=30))
        for image, timestamp in zip(clip.images, clip.timestamps, strict=True):
            ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))  # lossless: the same pixels
            assert ok
            ws.send(json.dumps({"type": "frame", "timestamp": timestamp}))
            ws.send(png.tobytes())
            message = ws.recv(timeout=60)
            assert isinstance(message, bytes), message
            results.append(unpack(message))
    return hello, results


def served_config(hello: dict[str, Any]) -> StreamConfig:
    values = dict(hello["config"])
    return StreamConfig(**{**values, "mode": Mode(values["mode"])})


@pytest.mark.parametrize(
    ("mode", "query"),
    [("dnn", "mode=dnn"), ("vqdnn", "mode=vqdnn"), ("vqbnn", "mode=vqbnn&seed=7"),
     ("bnn", "mode=bnn&samples=6&seed=7")],
)
def test_the_server_and_eval_give_the_same_results(
    shared_server: LiveServer, tiny_checkpoint: Path, mode: str, query: str
) -> None:
    clip = labelled_clip()
    hello, served = serve_clip(shared_server, f"parity-{mode}", query, clip)
    config = served_config(hello)
    assert config.mode.value == mode and (config.seed == 7) == ("seed" in query)
    segmenter = load_segmenter(tiny_checkpoint, "cpu")
    pipeline = StreamPipeline(segmenter, config, stream_id="parity", mc_chunk=MC_CHUNK)
    for i, (image, timestamp) in enumerate(zip(clip.images, clip.timestamps, strict=True)):
        maps = pipeline.process(image, timestamp)
        host = maps_to_host(maps, image.shape[:2], OutputSpec(MAPS, "float16", "network"))
        header, arrays = served[i]
        assert header["frame_index"] == i and header["mode"] == mode
        assert np.array_equal(arrays["labels"], host.labels)
        for name in ("entropy", *MAPS):
            assert arrays[name].tobytes() == host.maps[name].tobytes(), f"frame {i}: {name} differs"
        assert header["summary"] == summary_fields(host)["summary"]  # as the wire rounds them
    if mode == "bnn":
        return  # eval steps bnn's samples 8 at a time by default: the same distribution, other masks
    # vqseg eval's own loop over the clip scores the same frames the server answered
    runs = evaluate_modes(segmenter, [clip], [mode], config, progress=False)
    served_entropy = [header["summary"]["mean_uncertainty"] for header, _ in served]
    assert runs[mode].frame_entropy.tolist() == pytest.approx(served_entropy, abs=1e-6)
    assert runs[mode].labelled_frames == len(clip)


def test_seeds_decide_the_masks(shared_server: LiveServer) -> None:
    """The check above can fail: another seed (or none) gives other dropout masks, other maps."""
    clip = labelled_clip(2)
    _, seven = serve_clip(shared_server, "seed-a", "mode=vqbnn&seed=7", clip)
    _, again = serve_clip(shared_server, "seed-b", "mode=vqbnn&seed=7", clip)
    _, eight = serve_clip(shared_server, "seed-c", "mode=vqbnn&seed=8", clip)
    assert all(a[1]["entropy"].tobytes() == b[1]["entropy"].tobytes() for a, b in zip(seven, again, strict=True))
    assert any(a[1]["entropy"].tobytes() != b[1]["entropy"].tobytes() for a, b in zip(seven, eight, strict=True))
