"""vqseg: real-time video semantic segmentation with calibrated per-pixel uncertainty."""

__version__ = "0.1.0"
