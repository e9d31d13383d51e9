"""All segmentation and calibration metrics of one evaluation run, updated together per frame."""

from __future__ import annotations

from torch import Tensor

from evaluation.metrics.auroc import HistogramAUROC
from evaluation.metrics.calibration import ExpectedCalibrationError, ReliabilityBins
from evaluation.metrics.certainty import CertaintyRates
from evaluation.metrics.confusion import ConfusionMatrix, mean_iou, per_class_iou, pixel_accuracy
from evaluation.metrics.flicker import Flicker
from evaluation.metrics.pixels import IGNORE_INDEX, PixelBatch, check_out_of_range
from evaluation.metrics.scoring_rules import BrierScore, NegativeLogLikelihood

METRIC_KEYS = ("nll", "acc", "miou", "ece", "ece15", "brier", "acc90", "unc90", "auroc", "flicker")


class SegmentationMetrics:
    """NLL, pixel accuracy, mIoU, ECE (10 and 15 bins), Brier, Acc-90, Unc-90, misclassification
    AUROC of the normalised predictive entropy, and flicker.

    ``update(probs, target)`` takes ``probs`` ``(C, H, W)`` or ``(B, C, H, W)`` (the predictive
    distribution of the mode under test) and ``target`` ``(H, W)`` or ``(B, H, W)`` (``ignore_index``
    excluded). The B frames of one call are treated as consecutive frames of the current sequence for
    flicker; call ``update_sequence_boundary()`` between sequences. State stays on the device of the
    first update; per frame nothing is copied to the host and nothing synchronises.
    """

    def __init__(
        self, ignore_index: int = IGNORE_INDEX, auroc_bins: int = 4096, certainty_threshold: float = 0.9
    ) -> None:
        self.ignore_index = ignore_index
        self.nll = NegativeLogLikelihood(ignore_index=ignore_index)
        self.brier = BrierScore(ignore_index=ignore_index)
        self.confusion = ConfusionMatrix(ignore_index=ignore_index)
        self.ece10 = ExpectedCalibrationError(10, ignore_index=ignore_index)
        self.ece15 = ExpectedCalibrationError(15, ignore_index=ignore_index)
        self.certainty = CertaintyRates(certainty_threshold, ignore_index=ignore_index)
        self.auroc = HistogramAUROC(auroc_bins, max_score=1.0)
        self.flicker = Flicker(ignore_index=ignore_index)
        self._out_of_range: Tensor | None = None

    def update(self, probs: Tensor, target: Tensor) -> None:
        """Accumulate frames; see the class docstring for shapes."""
        batch = PixelBatch.from_tensors(probs, target, self.ignore_index)
        for metric in (self.nll, self.brier, self.confusion, self.ece10, self.ece15, self.certainty):
            metric.update_batch(batch)
        self.auroc.update(batch.normalized_entropy, ~batch.correct, batch.valid)
        self.flicker.update_flat(batch.prediction, batch.target, batch.valid, batch.spatial_shape)
        if self._out_of_range is None:
            self._out_of_range = batch.n_out_of_range.clone()
        else:
            self._out_of_range += batch.n_out_of_range

    def update_sequence_boundary(self) -> None:
        """The next frame starts a new sequence (no flicker pair across the boundary)."""
        self.flicker.reset_sequence()

    def compute(self) -> dict[str, float]:
        """Scalars with keys ``METRIC_KEYS`` (fractions, not percent; ``nan`` where undefined).

        Raises:
            ValueError: some target label was neither ``ignore_index`` nor in ``[0, C)``.
        """
        check_out_of_range(self._out_of_range)
        matrix = self.confusion.compute()
        rates = self.certainty.compute()
        return {
            "nll": self.nll.compute(),
            "acc": pixel_accuracy(matrix),
            "miou": mean_iou(matrix),
            "ece": self.ece10.compute(),
            "ece15": self.ece15.compute(),
            "brier": self.brier.compute(),
            "acc90": rates.accurate_given_certain,
            "unc90": rates.uncertain_given_inaccurate,
            "auroc": self.auroc.compute(),
            "flicker": self.flicker.compute(),
        }

    def reliability_bins(self) -> ReliabilityBins:
        """Reliability-diagram data of the 10-bin ECE."""
        return self.ece10.reliability()

    def per_class_iou(self) -> list[float]:
        """IoU per class (``nan`` for classes absent from both target and prediction)."""
        return per_class_iou(self.confusion.compute()).tolist()

    def confusion_matrix(self) -> Tensor:
        """``(C, C)`` int64 on the CPU, rows = true class, columns = predicted class."""
        return self.confusion.compute()

    def reset(self) -> None:
        for metric in (self.nll, self.brier, self.confusion, self.ece10, self.ece15, self.certainty):
            metric.reset()
        self.auroc.reset()
        self.flicker.reset()
        self._out_of_range = None
