"""Dropout kind / placement options, the inference MC rate, and the cheap several-samples path.

The cheap path (trunk once, sampled tail on the ``B·M`` repeated features) must equal ``M``
independent passes through the tail with the same masks, computed one frame and one sample at a time.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from models import ModelMeta, create_model, load_checkpoint, predict_samples, save_checkpoint
from models.backend_torch import TorchSegmenter
from models.dropout import dropout_modules
from models.sampling import has_cheap_tail
from streaming import Mode, predict_batch


def _segmenter(meta: ModelMeta, placement: str, kind: str, seed: int = 0) -> TorchSegmenter:
    options = {**meta.arch_options, "dropout_placement": placement, "dropout_kind": kind}
    meta = replace(meta, arch_options=options)
    torch.manual_seed(seed)
    model = create_model(meta.arch, meta.num_classes, meta.dropout, **options)
    return TorchSegmenter(model, meta, torch.device("cpu"))


class _FixedMask(nn.Module):
    """Stands in for a dropout layer: multiplies by a given (already scaled) mask."""

    def __init__(self, mask: torch.Tensor) -> None:
        super().__init__()
        self.mask = mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask


@pytest.mark.parametrize("kind", ["channel", "element"])
@pytest.mark.parametrize("placement", ["tail", "head"])
def test_cheap_samples_equal_independent_passes_through_the_sampled_tail(
    tiny_meta: ModelMeta, placement: str, kind: str
) -> None:
    seg = _segmenter(tiny_meta, placement, kind)
    net = seg.model
    assert has_cheap_tail(net)
    (layer,) = dropout_modules(net)
    name = next(n for n, m in net.named_children() if m is layer)
    b, m, rate, temperature = 2, 5, 0.3, 1.7
    batch = torch.randn(b, 3, *tiny_meta.input_size, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(42)
    cheap = seg.predict_samples(batch, m, temperature=temperature, rate=rate)
    assert cheap.shape == (b, m, tiny_meta.num_classes, *tiny_meta.input_size)
    with torch.inference_mode():
        features = [f.repeat_interleave(m, dim=0) for f in net.trunk(batch)]
        # The masks the cheap path drew: the same layer, same seed, same shape (the trunk draws nothing).
        layer.train()
        layer.p = rate
        torch.manual_seed(42)
        masks = layer(torch.ones_like(features[0]))
        net.eval()
        brute = torch.empty_like(cheap)
        for i in range(b):
            trunk = net.trunk(batch[i : i + 1])  # recomputed per frame, without the cheap path
            for j in range(m):
                setattr(net, name, _FixedMask(masks[i * m + j : i * m + j + 1]))
                brute[i, j] = torch.softmax(net.tail(*trunk) / temperature, dim=1)[0]
        setattr(net, name, layer)
    torch.testing.assert_close(cheap, brute, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(cheap[:, 0], cheap[:, 1])  # the samples really differ
    deterministic = seg.predict(batch, mc=False)
    for j in range(m):  # and each is a valid distribution that is not the deterministic pass
        torch.testing.assert_close(cheap[:, j].sum(dim=1), torch.ones(b, *tiny_meta.input_size))
    assert not torch.allclose(cheap.mean(dim=1), deterministic, atol=1e-4)


def test_deep_placement_samples_are_whole_passes_on_the_repeated_batch(tiny_segmenter: TorchSegmenter) -> None:
    assert not has_cheap_tail(tiny_segmenter.model)
    batch = torch.randn(2, 3, *tiny_segmenter.meta.input_size, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(7)
    got = predict_samples(tiny_segmenter, batch, 3, temperature=1.5)
    torch.manual_seed(7)
    flat = tiny_segmenter.predict(batch.repeat_interleave(3, dim=0), mc=True, temperature=1.5)
    torch.testing.assert_close(got, flat.view(2, 3, *flat.shape[1:]))


def test_the_mc_rate_is_applied_and_rate_zero_is_the_deterministic_pass(tiny_meta: ModelMeta) -> None:
    seg = _segmenter(tiny_meta, "head", "element")
    batch = torch.randn(1, 3, *tiny_meta.input_size, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(seg.predict(batch, mc=True, rate=0.0), seg.predict(batch, mc=False))
    spread = {}
    for rate in (0.05, 0.5):
        torch.manual_seed(0)
        samples = seg.predict_samples(batch, 16, rate=rate)
        spread[rate] = float(samples.std(dim=1).mean())
    assert spread[0.5] > 2 * spread[0.05] > 0
    assert all(layer.p == 0.5 for layer in dropout_modules(seg.model))  # the last rate asked for
    torch.manual_seed(1)
    default = seg.predict_samples(batch, 16)  # no rate: back to the training rate
    assert all(layer.p == tiny_meta.dropout for layer in dropout_modules(seg.model))
    assert float(default.std(dim=1).mean()) > 0
    with pytest.raises(ValueError, match="rate"):
        seg.predict(batch, mc=True, rate=1.0)


def test_vqbnn_serves_the_mean_of_its_samples_at_its_calibrated_rate(tiny_meta: ModelMeta) -> None:
    seg = _segmenter(tiny_meta, "tail", "element")
    seg.meta = replace(seg.meta, mc_rates={"vqbnn": 0.2}, mc_samples={"vqbnn": 4}, temperatures={"vqbnn": 0.8})
    batch = torch.randn(2, 3, *tiny_meta.input_size, generator=torch.Generator().manual_seed(5))
    torch.manual_seed(9)
    got = predict_batch(seg, batch, Mode.VQBNN)
    torch.manual_seed(9)
    samples = seg.predict_samples(batch, 4, temperature=0.8, rate=0.2)
    torch.testing.assert_close(got.probs, samples.mean(dim=1))
    assert got.member_entropy is not None
    expected_entropy = -(samples * samples.clamp_min(1e-12).log()).sum(dim=2).mean(dim=1)
    torch.testing.assert_close(got.member_entropy, expected_entropy, rtol=1e-4, atol=1e-5)


def test_options_round_trip_through_a_checkpoint(tiny_meta: ModelMeta, tmp_path) -> None:
    meta = replace(
        tiny_meta,
        arch_options={"width": 4, "dropout_kind": "element", "dropout_placement": "tail"},
        mc_rates={"vqbnn": 0.1, "bnn": 0.2},
        mc_samples={"vqbnn": 3},
    )
    model = create_model(meta.arch, meta.num_classes, meta.dropout, **meta.arch_options)
    path = save_checkpoint(tmp_path / "m.pt", model, meta)
    loaded, back = load_checkpoint(path)
    assert back.mc_rate("vqbnn") == 0.1 and back.mc_rate("bnn") == 0.2 and back.mc_rate("other") == meta.dropout
    assert back.samples_per_frame("vqbnn") == 3 and back.samples_per_frame("bnn") == 1
    assert has_cheap_tail(loaded) and isinstance(dropout_modules(loaded)[0], nn.Dropout)
    with pytest.raises(ValueError, match="rate"):
        replace(meta, mc_rates={"vqbnn": 1.0})
    with pytest.raises(ValueError, match="samples"):
        replace(meta, mc_samples={"vqbnn": 0})
    with pytest.raises(ValueError, match="placement"):
        create_model(meta.arch, meta.num_classes, 0.5, width=4, dropout_placement="everywhere")
