"""Networks with MC dropout, checkpoints and inference backends.

The rest of vqseg uses only what this module exports: ``load_segmenter`` returns a ``Segmenter``
whose ``prepare(frames)`` builds a batch on the device and whose ``predict(batch, mc)`` runs one
forward pass and returns class probabilities on that device.
"""

from models.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from models.devices import resolve_device
from models.loading import BACKENDS, default_checkpoint_path, load_segmenter
from models.meta import ModelMeta
from models.registry import available_architectures, create_model
from models.sampling import predict_samples
from models.segmenter import Segmenter

__all__ = [
    "BACKENDS",
    "CheckpointError",
    "ModelMeta",
    "Segmenter",
    "available_architectures",
    "create_model",
    "default_checkpoint_path",
    "load_checkpoint",
    "load_segmenter",
    "predict_samples",
    "read_checkpoint",
    "resolve_device",
    "save_checkpoint",
]
