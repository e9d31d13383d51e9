"""Sessions, modes and stream ids."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import ModelMeta
from models.backend_torch import TorchSegmenter
from streaming import (
    Mode,
    StreamConfig,
    StreamPipeline,
    predict_batch,
    validate_stream_id,
)
from streaming.engine import BatchPrediction
from streaming.session import StreamSession
from streaming.uncertainty import entropy


def session(config: StreamConfig) -> StreamSession:
    return StreamSession("s", config, 3, (2, 2), torch.device("cpu"))


def probs(seed: int) -> torch.Tensor:
    return torch.softmax(torch.randn(3, 2, 2, generator=torch.Generator().manual_seed(seed)), dim=0)


def test_gap_longer_than_max_gap_resets_the_buffer() -> None:
    s = session(StreamConfig(mode=Mode.VQBNN, max_gap=1.0))
    s.consume(probs(0), 10.0)
    s.consume(probs(1), 10.1)
    assert s.buffer_len == 2
    maps = s.consume(probs(2), 12.0)
    assert s.buffer_len == 1 and s.stats.resets == 1
    torch.testing.assert_close(maps.probs, probs(2))


def test_dnn_mode_does_not_smooth() -> None:
    s = session(StreamConfig(mode=Mode.DNN))
    s.consume(probs(0), 0.0)
    maps = s.consume(probs(1), 0.05)
    torch.testing.assert_close(maps.probs, probs(1))
    assert float(maps.mutual_info.abs().max()) == 0.0


def test_reconfigure_window_reallocates_and_mode_change_resets() -> None:
    s = session(StreamConfig(window=4))
    for i in range(3):
        s.consume(probs(i), 0.05 * i)
    s.reconfigure(tau=0.5)
    assert s.buffer_len == 3
    s.reconfigure(window=2)
    assert s.buffer_len == 0
    s.consume(probs(5), 1.0)
    s.reconfigure(mode=Mode.VQDNN)
    assert s.buffer_len == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"tau": 0}, "tau"), ({"window": 65}, "window"), ({"samples": 0}, "samples"), ({"clock": "x"}, "clock")],
)
def test_stream_config_rejects_bad_values(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StreamConfig(**changes)


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "x" * 129, "..", "spa ce", "é"])
def test_stream_ids_are_restricted(bad: str) -> None:
    with pytest.raises(ValueError):
        validate_stream_id(bad)


class SequenceSegmenter:
    """Returns a fixed sequence of probability maps, one per call, to check bnn's accumulation."""

    def __init__(self, outputs: list[torch.Tensor]) -> None:
        self.outputs = outputs
        self.calls = 0
        self.meta = ModelMeta("fixed", ("a", "b", "c"), ((0, 0, 0),) * 3)

    def predict(
        self, batch: torch.Tensor, mc: bool, temperature: float = 1.0, rate: float | None = None
    ) -> torch.Tensor:
        out = torch.cat([self.outputs[(self.calls + i) % len(self.outputs)] for i in range(batch.shape[0])])
        self.calls += batch.shape[0]
        return out


@pytest.mark.parametrize("chunk", [1, 3, 8])
def test_bnn_mean_and_expected_entropy_equal_brute_force(chunk: int) -> None:
    outputs = [probs(i).unsqueeze(0) for i in range(7)]
    seg = SequenceSegmenter(outputs)
    result: BatchPrediction = predict_batch(seg, torch.zeros(1, 3, 2, 2), Mode.BNN, samples=7, sample_chunk=chunk)  # type: ignore[arg-type]
    stacked = torch.cat(outputs)
    torch.testing.assert_close(result.probs[0], stacked.mean(0))
    assert result.member_entropy is not None
    torch.testing.assert_close(result.member_entropy[0], entropy(stacked, dim=1).mean(0))


def test_pipeline_modes_on_a_real_network(tiny_segmenter: TorchSegmenter, rgb_frame: np.ndarray) -> None:
    for mode in Mode:
        pipe = StreamPipeline(tiny_segmenter, StreamConfig(mode=mode, samples=4))
        for i in range(3):
            maps = pipe.process(rgb_frame, i / 15)
        assert maps.labels.shape == (32, 48)
        mi = float(maps.mutual_info.max())
        if mode in (Mode.DNN, Mode.VQDNN):
            assert mi < 1e-5  # identical frames, no dropout: all members agree
        else:
            assert mi > 0
