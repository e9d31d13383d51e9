from __future__ import annotations

import pytest
import torch

from evaluation.metrics import NegativeLogLikelihood, PixelBatch


def test_flattens_single_frame_and_masks_ignore() -> None:
    probs = torch.full((3, 2, 2), 1 / 3)
    batch = PixelBatch.from_tensors(probs, torch.tensor([[0, 255], [2, 1]], dtype=torch.uint8))
    assert batch.probs.shape == (1, 3, 4)
    assert batch.valid.tolist() == [[True, False, True, True]]
    assert batch.target.tolist() == [[0, 0, 2, 1]]
    assert batch.spatial_shape == (2, 2)
    assert int(batch.n_out_of_range) == 0


def test_half_precision_is_upcast() -> None:
    batch = PixelBatch.from_tensors(
        torch.full((2, 1, 1), 0.5, dtype=torch.float16), torch.zeros(1, 1, dtype=torch.long)
    )
    assert batch.probs.dtype == torch.float32


@pytest.mark.parametrize(
    ("probs", "target", "error", "match"),
    [
        (torch.zeros(2, 2, 2, dtype=torch.long), torch.zeros(2, 2, dtype=torch.long), TypeError, "floating"),
        (torch.zeros(2, 2, 2), torch.zeros(2, 2), TypeError, "integer"),
        (torch.zeros(2, 2, 2), torch.zeros(2, 2, dtype=torch.bool), TypeError, "integer"),
        (torch.zeros(2, 2), torch.zeros(2, 2, dtype=torch.long), ValueError, r"\(C, H, W\)"),
        (torch.zeros(2, 2, 3), torch.zeros(3, 2, dtype=torch.long), ValueError, "does not match"),
        (torch.zeros(2, 3, 2, 2), torch.zeros(2, 2, dtype=torch.long), ValueError, "does not match"),
    ],
)
def test_rejects_bad_inputs(probs: torch.Tensor, target: torch.Tensor, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        PixelBatch.from_tensors(probs, target)


def test_out_of_range_labels_are_reported_at_compute() -> None:
    metric = NegativeLogLikelihood()
    metric.update(torch.full((2, 1, 2), 0.5), torch.tensor([[1, 7]]))  # 7 >= C = 2, not ignore
    with pytest.raises(ValueError, match="1 target pixels"):
        metric.compute()


def test_metric_rejects_a_different_class_count() -> None:
    metric = NegativeLogLikelihood()
    metric.update(torch.full((2, 1, 1), 0.5), torch.zeros(1, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="started with 2 classes"):
        metric.update(torch.full((3, 1, 1), 1 / 3), torch.zeros(1, 1, dtype=torch.long))
