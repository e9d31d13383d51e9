"""Settings: defaults, VQSEG_* env vars, an env file, CLI flags on top; nothing read at import time."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.commands import serve
from server.settings import MiB, load_settings


def test_defaults() -> None:
    s = load_settings()
    assert (s.host, s.port, s.model, s.device, s.window, s.samples) == ("127.0.0.1", 8000, None, "auto", 6, 30)
    assert s.tau == pytest.approx(1.25 / 15) and s.mode.value == "vqbnn"
    assert (s.max_frame_bytes, s.max_frame_pixels) == (16 * MiB, 8192 * 8192)
    assert (s.max_batch, s.max_wait_ms, s.api_key, s.cors_origins) == (8, 5.0, None, [])


def test_env_vars_env_file_and_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / "vqseg.env"
    env_file.write_text("VQSEG_WINDOW=3\nVQSEG_MAX_STREAMS=5\n")
    monkeypatch.setenv("VQSEG_ENV_FILE", str(env_file))
    monkeypatch.setenv("VQSEG_PORT", "9001")
    monkeypatch.setenv("VQSEG_CORS_ORIGINS", "http://a.example, http://b.example")
    monkeypatch.setenv("VQSEG_API_KEY", "s3cret")
    s = load_settings(port=9100, window=None)
    assert s.port == 9100  # a flag beats the environment; None means "not given"
    assert (s.window, s.max_streams) == (3, 5)
    assert s.cors_origins == ["http://a.example", "http://b.example"]
    assert s.api_keys() == ["s3cret"] and "s3cret" not in repr(s)


@pytest.mark.parametrize("bad", [{"tau": 0}, {"window": 65}, {"samples": 0}, {"max_batch": 0}, {"mode": "fast"}])
def test_invalid_settings_are_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        load_settings(**bad)


def test_serve_flags_reach_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser()
    serve.configure(parser)
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
    args = parser.parse_args(["--port", "0", "--window", "4", "--api-key-file", str(key_file), "--model",
                              str(tmp_path / "missing.pt")])
    assert serve.run(args) == 2  # refuses to start without a model file, before binding anything
