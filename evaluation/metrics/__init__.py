"""Streaming segmentation and calibration metrics (device-side ``update`` / host-side ``compute``)."""

from evaluation.metrics.auroc import HistogramAUROC, auroc
from evaluation.metrics.calibration import ExpectedCalibrationError, ReliabilityBins, confidence_bin
from evaluation.metrics.certainty import CertaintyRates, CertaintyRatesResult
from evaluation.metrics.confusion import ConfusionMatrix, mean_iou, per_class_iou, pixel_accuracy
from evaluation.metrics.flicker import Flicker
from evaluation.metrics.pixels import IGNORE_INDEX, PixelBatch
from evaluation.metrics.scoring_rules import BrierScore, NegativeLogLikelihood
from evaluation.metrics.segmentation import METRIC_KEYS, SegmentationMetrics
from evaluation.metrics.uncertainty import confidence, predictive_entropy

__all__ = [
    "IGNORE_INDEX",
    "METRIC_KEYS",
    "BrierScore",
    "CertaintyRates",
    "CertaintyRatesResult",
    "ConfusionMatrix",
    "ExpectedCalibrationError",
    "Flicker",
    "HistogramAUROC",
    "NegativeLogLikelihood",
    "PixelBatch",
    "ReliabilityBins",
    "SegmentationMetrics",
    "auroc",
    "confidence",
    "confidence_bin",
    "mean_iou",
    "per_class_iou",
    "pixel_accuracy",
    "predictive_entropy",
]
