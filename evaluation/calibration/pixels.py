"""Which pixels calibration looks at, and how the network's output reaches them.

Calibration scores a mode as ``vqseg eval --data`` does: at the labels' resolution, the network's
probabilities upsampled bilinearly (``F.interpolate``, ``align_corners=False``). Upsampling is a fixed
convex blend of four network pixels per label pixel, so the prediction at a sample of label pixels
needs only those network pixels. A run of frames keeps one sample (the blend of a sequence mixes the
same pixels of consecutive frames), drawn with a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class PixelSample:
    """``pixels`` label pixels (flat indices into the label image) and their bilinear sources.

    ``sources`` ``(U,)`` are the flat network pixels the sample needs; ``neighbours`` ``(M, 4)`` index
    into ``sources`` and ``weights`` ``(M, 4)`` (rows sum to 1) give each label pixel's blend.
    """

    pixels: torch.Tensor
    sources: torch.Tensor
    neighbours: torch.Tensor
    weights: torch.Tensor

    def at_labels(self, probs: torch.Tensor) -> torch.Tensor:
        """``(C, U)`` probabilities at ``sources`` to ``(C, M)`` at the sampled label pixels."""
        return (probs[:, self.neighbours] * self.weights).sum(dim=-1)


def _axis(out_size: int, in_size: int, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Torch's bilinear source indices (lo, hi) and the weight of hi, for output ``positions``."""
    scale = in_size / out_size
    source = np.maximum((positions + 0.5) * scale - 0.5, 0.0)
    lo = np.floor(source).astype(np.int64)
    lo = np.minimum(lo, in_size - 1)
    hi = np.minimum(lo + 1, in_size - 1)
    return lo, hi, source - lo


def sample_pixels(
    label_size: tuple[int, int], network_size: tuple[int, int], count: int, seed: int = 0
) -> PixelSample:
    """``count`` label pixels without replacement (all when the label has fewer), fixed by ``seed``."""
    height, width = label_size
    h, w = network_size
    total = height * width
    rng = np.random.default_rng(seed)
    pixels = np.sort(rng.choice(total, size=min(count, total), replace=False))
    y0, y1, wy = _axis(height, h, pixels // width)
    x0, x1, wx = _axis(width, w, pixels % width)
    flat = np.stack([y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1], axis=1)
    weights = np.stack([(1 - wy) * (1 - wx), (1 - wy) * wx, wy * (1 - wx), wy * wx], axis=1)
    sources, inverse = np.unique(flat, return_inverse=True)
    return PixelSample(
        pixels=torch.from_numpy(pixels),
        sources=torch.from_numpy(sources),
        neighbours=torch.from_numpy(inverse.reshape(flat.shape)),
        weights=torch.from_numpy(weights.astype(np.float32)),
    )
