"""Does the uncertainty notice real video, far from the synthetic training domain?

Per mode, each frame is scored by its mean normalised predictive entropy (and, separately, its mean
normalised mutual information). We report the mean scores on the real clips and on the held-out
synthetic frames, and the exact AUROC of telling a real frame from a synthetic one by that score
(real = positive; 0.5 = no better than chance, 1 = every real frame more uncertain than every
synthetic one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from evaluation.metrics import auroc
from evaluation.runner import ModeRun


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else math.nan


def real_vs_synthetic(
    real: Mapping[str, ModeRun], synthetic: Mapping[str, ModeRun], clip_of: Mapping[str, str]
) -> dict[str, Any]:
    """Per mode (present in both): means on real and synthetic frames, per clip, and the AUROCs.

    Args:
        real: runs over the real clips' sequences, by mode name.
        synthetic: runs over the held-out synthetic sequences, by mode name.
        clip_of: real sequence name -> clip name (a clip is read as several sequences).
    """
    out: dict[str, Any] = {}
    for mode, real_run in real.items():
        synth_run = synthetic.get(mode)
        if synth_run is None:
            continue
        real_h, real_mi = real_run.frame_entropy, real_run.frame_mutual_info
        syn_h, syn_mi = synth_run.frame_entropy, synth_run.frame_mutual_info
        clips: dict[str, dict[str, float]] = {}
        names = np.asarray([clip_of.get(s, s) for s in real_run.frame_sequence])
        for clip in dict.fromkeys(names.tolist()):
            chosen = names == clip
            clips[clip] = {
                "mean_entropy": _mean(real_h[chosen]),
                "mean_mutual_info": _mean(real_mi[chosen]),
                "frames": int(chosen.sum()),
            }
        out[mode] = {
            "real": {"mean_entropy": _mean(real_h), "mean_mutual_info": _mean(real_mi), "frames": int(real_h.size)},
            "synthetic": {"mean_entropy": _mean(syn_h), "mean_mutual_info": _mean(syn_mi), "frames": int(syn_h.size)},
            "clips": clips,
            "auroc_entropy": auroc(real_h, syn_h),
            "auroc_mutual_info": auroc(real_mi, syn_mi),
        }
    return out
