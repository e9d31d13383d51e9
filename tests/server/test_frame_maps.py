"""Device-to-host maps: output sizes within the budget, banded upsampling equal to PyTorch's bilinear,
argmax of upsampled probabilities, exact 16-bit quantisation, the binary frame's arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from server.encode import binary_result
from server.frame_maps import OutputSpec, maps_to_host, output_size
from streaming import entropy, uncertainty_maps
from vqseg_client.result import decode_binary
from vqseg_client.wire import unpack


@pytest.fixture
def maps() -> object:
    torch.manual_seed(0)
    probs = torch.softmax(torch.randn(4, 8, 12) * 3, dim=0)
    probs[:, 0, 0] = torch.tensor([1.0, 0.0, 0.0, 0.0])  # entropy 0
    probs[:, 0, 1] = 0.25  # entropy log 4: normalised 1
    return uncertainty_maps(probs, entropy(probs, dim=0))


def test_quantisation_is_exact_at_the_ends_and_labels_come_from_upsampled_probs(maps: object) -> None:
    probs = maps.probs  # type: ignore[attr-defined]
    same = maps_to_host(maps, (8, 12), OutputSpec(("confidence",)))  # type: ignore[arg-type]
    assert same.uncertainty.dtype == np.uint16 and same.labels.dtype == np.uint8
    assert same.uncertainty[0, 0] == 0 and same.uncertainty[0, 1] == 65535
    expected = np.round(maps.entropy_normalised.clamp(0, 1).numpy() * 65535).astype(np.uint16)  # type: ignore[attr-defined]
    assert (same.uncertainty == expected).all()
    assert (same.labels == probs.argmax(0).numpy()).all()
    assert same.mean_uncertainty == pytest.approx(float(maps.entropy.mean()) / math.log(4), rel=1e-5)  # type: ignore[attr-defined]
    big = maps_to_host(maps, (24, 36), OutputSpec(("confidence", "mutual_info")))  # type: ignore[arg-type]
    up = F.interpolate(probs[None], size=(24, 36), mode="bilinear", align_corners=False)[0]
    assert big.labels.shape == (24, 36) and (big.labels == up.argmax(0).numpy()).all()
    assert set(big.maps) == {"entropy", "confidence", "mutual_info"}
    assert big.maps["mutual_info"].max() == 0  # one member: no epistemic uncertainty
    ent = F.interpolate(maps.entropy_normalised[None, None], size=(24, 36), mode="bilinear")[0, 0]  # type: ignore[attr-defined]
    assert np.abs(big.uncertainty / 65535.0 - ent.numpy()).max() <= 1 / 65535


@pytest.mark.parametrize(("frame", "spec", "size"), [
    ((360, 480), OutputSpec(size="network"), (8, 12)),
    ((360, 480), OutputSpec(size="frame"), (360, 480)),
    ((8192, 8192), OutputSpec(size="frame", max_pixels=1920 * 1080), (1440, 1440)),
    ((1000, 4000), OutputSpec(size="frame", max_pixels=40_000), (100, 400)),
])
def test_output_size_is_the_network_or_the_frame_within_the_budget(
    frame: tuple[int, int], spec: OutputSpec, size: tuple[int, int]
) -> None:
    assert output_size((8, 12), frame, spec) == size


def test_banded_upsampling_equals_pytorch_bilinear(maps: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from server import frame_maps

    whole = maps_to_host(maps, (50, 70), OutputSpec(("confidence",)))  # type: ignore[arg-type]
    monkeypatch.setattr(frame_maps, "WHOLE_VALUES", 0)
    monkeypatch.setattr(frame_maps, "BAND_VALUES", 5 * 70 * 3)  # bands of 3 rows
    banded = maps_to_host(maps, (50, 70), OutputSpec(("confidence",)))  # type: ignore[arg-type]
    assert (banded.labels == whole.labels).mean() > 0.999  # ties may break either way
    for name in ("entropy", "confidence"):
        assert np.abs(banded.maps[name].astype(int) - whole.maps[name].astype(int)).max() <= 1


def test_a_huge_frame_gets_maps_within_the_budget(maps: object) -> None:
    host = maps_to_host(maps, (8192, 8192), OutputSpec(("confidence",), size="frame", max_pixels=100_000))  # type: ignore[arg-type]
    assert host.labels.size <= 100_000 and host.labels.shape == host.uncertainty.shape == (316, 316)


@pytest.mark.parametrize("dtype", ["float16", "uint8"])
def test_binary_frame_carries_the_arrays_as_packed_on_the_device(maps: object, dtype: str) -> None:
    host = maps_to_host(maps, (360, 480), OutputSpec(("mutual_info",), dtype, "network"))  # type: ignore[arg-type]
    data = binary_result({"frame_index": 3, "width": 480, "height": 360}, host, ("mutual_info",), {"total": 1.0})
    header, arrays = unpack(data)
    assert header["protocol"] == 2 and header["map_width"] == 12 and header["map_height"] == 8
    assert set(arrays) == {"labels", "entropy", "mutual_info"}
    assert (arrays["labels"] == maps.probs.argmax(0).numpy()).all()  # type: ignore[attr-defined]
    scale = 255.0 if dtype == "uint8" else 1.0
    tolerance = 0.5 / 255 if dtype == "uint8" else 1e-3
    expected = maps.entropy_normalised.clamp(0, 1).numpy()  # type: ignore[attr-defined]
    assert np.abs(arrays["entropy"].astype(np.float32) / scale - expected).max() <= tolerance
    result = decode_binary(data)
    assert result.width == 480 and result.labels.shape == (8, 12) and set(result.maps) == {"mutual_info"}
    assert result.labels_at(480, 360).shape == (360, 480)
