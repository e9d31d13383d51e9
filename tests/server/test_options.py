"""Per-stream options are declared once (``StreamConfig``'s ``option(...)`` entries) and every place a
user sets one is derived from that table: settings and env vars, ``serve`` and ``eval`` flags, REST
query and JSON parameters, WebSocket query and ``config`` messages, ``/v1/model`` and the docs table."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
from websockets.sync.client import connect

from evaluation.commands import evaluate
from server.commands import serve
from server.params import options_info
from server.settings import Settings
from streaming import StreamConfig, stream_options
from streaming.options import options_markdown
from tests.server.conftest import LiveServer, make_frame

DOCS = Path(__file__).resolve().parents[2] / "docs" / "server.md"
# a value inside each option's range that differs from its default, as text (query/env/flag) and typed
CHANGED = {"mode": ("dnn", "dnn"), "tau": ("0.5", 0.5), "clock": ("frames", "frames"), "window": ("3", 3),
           "samples": ("4", 4), "max_gap": ("7.5", 7.5), "motion": ("true", True), "spatial_sigma": ("0.5", 0.5),
           "seed": ("11", 11)}


def test_every_option_has_a_test_value() -> None:
    assert set(CHANGED) == {o.name for o in stream_options()}


def test_the_docs_table_is_the_declared_table() -> None:
    text = DOCS.read_text()
    found = re.search(r"<!-- stream-options:begin[^>]*-->\n(.*?)<!-- stream-options:end -->", text, re.S)
    assert found is not None, "docs/server.md lost its generated options table"
    expected = options_markdown(stream_options(), [o.name for o in evaluate.eval_options()])
    assert found.group(1) == expected, "regenerate the table in docs/server.md from streaming.stream_options()"


@pytest.mark.parametrize("name", list(CHANGED))
def test_env_var_and_serve_flag_set_the_default_of_new_streams(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text, value = CHANGED[name]
    option = next(o for o in stream_options() if o.name == name)
    monkeypatch.setenv(option.env, text)
    assert getattr(Settings().stream_defaults(), name) == value  # nothing dropped on the way
    monkeypatch.delenv(option.env)
    parser = argparse.ArgumentParser()
    serve.configure(parser)
    args = parser.parse_args([option.flag] if option.kind is bool else [option.flag, text])
    assert getattr(args, name) == value


def test_eval_flags_are_the_options_but_mode_and_seed() -> None:
    parser = argparse.ArgumentParser()
    evaluate.configure(parser)
    flags = {a.dest for a in parser._actions}
    assert {o.name for o in stream_options()} - flags == {"mode"}  # --modes; --seed is eval's own
    assert [o.name for o in evaluate.eval_options()] == [o.name for o in stream_options()][1:-1]
    args = parser.parse_args(["--clock", "frames", "--max-gap", "3", "--motion"])
    assert (args.clock, args.max_gap, args.motion, args.tau) == ("frames", 3.0, True, None)


def test_a_bad_value_is_refused_with_the_range() -> None:
    for option in stream_options():
        if option.kind in (int, float):
            outside = option.high + 1 if option.high is not None else option.low - 1  # type: ignore[operator]
            with pytest.raises(ValueError, match=re.escape(option.range_text)):
                StreamConfig(**{option.name: outside})


def test_the_model_endpoint_lists_the_options(shared_server: LiveServer) -> None:
    with shared_server.client() as http:
        model = http.get("/v1/model").json()
    assert model["options"] == options_info()
    assert set(model["defaults"]) == {o.name for o in stream_options()}


def test_rest_query_sets_every_option_and_refuses_unknown_names(shared_server: LiveServer) -> None:
    query = "&".join(f"{name}={text}" for name, (text, _) in CHANGED.items() if name != "mode")
    with shared_server.client() as http:
        r = http.post(f"/v1/streams/opts-rest/frames?mode=vqbnn&{query}", content=make_frame(1),
                      headers={"Content-Type": "image/jpeg"})
        assert r.status_code == 200, r.text
        config = http.get("/v1/streams/opts-rest").json()["config"]
        assert {name: config[name] for name in CHANGED if name != "mode"} == {
            name: value for name, (_, value) in CHANGED.items() if name != "mode"}
        bad = http.post("/v1/streams/opts-rest/frames?windw=3", content=make_frame(1),
                        headers={"Content-Type": "image/jpeg"})
        assert bad.status_code == 422 and "windw" in bad.json()["error"]["message"]
        http.delete("/v1/streams/opts-rest")


def test_websocket_query_and_config_message_use_the_same_table(shared_server: LiveServer) -> None:
    with connect(f"{shared_server.ws_url}/v1/streams/opts-ws/ws?clock=frames&max_gap=3", max_size=None) as ws:
        hello = json.loads(ws.recv(timeout=20))
        assert hello["config"]["clock"] == "frames" and hello["config"]["max_gap"] == 3.0
        ws.send(json.dumps({"type": "config", "seed": 5, "spatial_sigma": 1.5}))
        reply = json.loads(ws.recv(timeout=20))
        assert reply["type"] == "config" and reply["config"]["seed"] == 5 and reply["config"]["spatial_sigma"] == 1.5
        ws.send(json.dumps({"type": "config", "window": 65}))
        error = json.loads(ws.recv(timeout=20))
        assert error["type"] == "error" and "0..64" in error["message"]
    with connect(f"{shared_server.ws_url}/v1/streams/opts-ws2/ws?tua=1", max_size=None) as ws:
        with pytest.raises(Exception):  # noqa: B017 - refused: the connection closes
            ws.recv(timeout=10)
        assert ws.close_code == 4422

