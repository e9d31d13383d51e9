"""Temperature calibration per inference mode, fitted on labelled video (``vqseg calibrate``)."""
