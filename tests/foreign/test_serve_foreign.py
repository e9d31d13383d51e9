"""Models made elsewhere served by a real server from their file and sidecar alone: REST, WebSocket,
/v1/model, modes refused (422 / close 4422) where the model has no dropout, and ``vqseg serve``
exiting with one line when the model cannot load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.foreign.conftest import copy_model
from tests.server.conftest import LiveServer, decode_png, launch, make_frame
from tests.server.test_serve_command import free_port

JPEG = {"Content-Type": "image/jpeg"}


@pytest.fixture(scope="module")
def lraspp_server(elsewhere) -> LiveServer:  # type: ignore[no-untyped-def]
    live = launch(elsewhere("lraspp_onnx"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def segformer_server(elsewhere) -> LiveServer:  # type: ignore[no-untyped-def]
    live = launch(elsewhere("segformer_onnx"))
    yield live
    live.stop()


def test_model_says_what_it_can_do(lraspp_server: LiveServer) -> None:
    with lraspp_server.client() as client:
        info = client.get("/v1/model").json()
    assert info["num_classes"] == 19 and info["classes"][:3] == ["road", "sidewalk", "building"]
    assert info["palette"][0] == [128, 64, 128] and info["input_size"] == [64, 96]
    assert info["capabilities"]["modes"] == ["dnn", "vqdnn"] and not info["capabilities"]["mc_dropout"]
    assert info["capabilities"]["reason"] == "no Dropout node in the graph"
    assert info["source"]["format"] == "onnx" and info["source"]["sidecar"].endswith("lraspp.vqseg.yaml")
    assert info["defaults"]["mode"] == "vqdnn"  # vqbnn, the usual default, needs dropout


def test_rest_serves_dnn_and_refuses_bnn_with_the_reason(lraspp_server: LiveServer) -> None:
    with lraspp_server.client() as client:
        ok = client.post("/v1/segment", content=make_frame(size=(60, 80)), headers=JPEG)
        refused = client.post("/v1/segment", content=make_frame(), headers=JPEG, params={"mode": "bnn"})
        stream = client.post("/v1/streams/f-1/frames", content=make_frame(), headers=JPEG, params={"mode": "vqbnn"})
    assert ok.status_code == 200, ok.text
    assert decode_png(ok.json()["labels"]).max() < 19
    for r in (refused, stream):
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_parameters"
        message = r.json()["error"]["message"]
        assert "needs MC dropout, and this model has none (no Dropout node in the graph)" in message


def test_websocket_streams_vqdnn_and_refuses_vqbnn(lraspp_server: LiveServer) -> None:
    with connect(f"{lraspp_server.ws_url}/v1/streams/f-ws/ws", max_size=None) as ws:
        hello = json.loads(ws.recv(timeout=20))
        assert hello["type"] == "hello" and len(hello["model"]["classes"]) == 19
        ws.send(make_frame())
        result = json.loads(ws.recv(timeout=30))
        assert result["type"] == "result" and result["mode"] == "vqdnn"
        ws.send(json.dumps({"type": "config", "mode": "bnn"}))
        ws.send(make_frame(1))
        answer = json.loads(ws.recv(timeout=30))
        if answer["type"] == "config":  # the ack comes first where the change is accepted up front
            answer = json.loads(ws.recv(timeout=30))
        assert answer["type"] == "error" and "needs MC dropout" in answer["message"], answer
    with connect(f"{lraspp_server.ws_url}/v1/streams/f-ws2/ws?mode=vqbnn", max_size=None) as ws:
        with pytest.raises(Exception):  # noqa: B017  (closed: the server refuses the stream)
            ws.recv(timeout=20)
        assert ws.close_code == 4422 and "needs MC dropout" in (ws.close_reason or "")


def test_mc_modes_are_stochastic_where_the_model_has_dropout(segformer_server: LiveServer) -> None:
    with segformer_server.client() as client:
        info = client.get("/v1/model").json()
        assert info["capabilities"]["modes"] == ["dnn", "bnn", "vqdnn", "vqbnn"] and info["defaults"]["mode"] == "vqbnn"
        params = {"mode": "bnn", "samples": 3, "maps": "confidence"}
        bodies = [client.post("/v1/segment", content=make_frame(size=(64, 96)), headers=JPEG, params=params).json()
                  for _ in range(2)]
    confidence = [decode_png(b["maps"]["confidence"]) for b in bodies]
    assert (confidence[0] != confidence[1]).any()  # fresh MC masks on every request
    with connect(f"{segformer_server.ws_url}/v1/streams/s-ws/ws", max_size=None) as ws:
        assert json.loads(ws.recv(timeout=20))["type"] == "hello"
        for i in range(3):
            ws.send(make_frame(i))
            result = json.loads(ws.recv(timeout=30))
            assert result["type"] == "result" and result["mode"] == "vqbnn"
        assert result["buffer_len"] == 3


def _serve(model: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "vqseg", "serve", "--port", str(free_port()), "--model", str(model),
           "--device", "cpu", "--log-level", "warning", *extra]
    return subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize(("sidecar", "extra", "reason"), [
    ("preset: camvid11\n", (), "the model outputs 19 classes per pixel but the description names 11"),
    ("preset: cityscapes19\n", ("--mode", "vqbnn"), "mode 'vqbnn' needs MC dropout, and this model has none"),
])
def test_serve_exits_with_one_line_when_the_model_cannot_load(  # type: ignore[no-untyped-def]
    elsewhere, tmp_path: Path, sidecar: str, extra: tuple[str, ...], reason: str
) -> None:
    model = copy_model(elsewhere("lraspp_onnx"), tmp_path, sidecar)
    done = _serve(model, *extra)
    assert done.returncode == 1, done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if reason in line]
    assert len(lines) == 1 and lines[0].startswith("vqseg serve: model failed to load"), done.stderr
    assert "Traceback" not in done.stderr
