"""OpenVINO backend: the same ``Segmenter`` interface, on a file written by ``vqseg export`` (CPU).

OpenVINO reads the ONNX file directly (no conversion step, nothing written). The graph's dropout
layers draw their masks with ``RandomUniformLike``, which OpenVINO keeps as a ``RandomUniform`` node
(it is never constant-folded), so one compiled model serves all four modes. Every load seeds those
nodes from torch's global generator, as the ONNX Runtime backend does: ``torch.manual_seed`` makes
runs reproducible, and two loads never share a mask sequence. A stochastic model is checked at load
(two MC passes must differ), so frozen masks can never be served silently.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import openvino as ov
import torch

from models.backend_onnx import check_call, draws_fresh_masks, with_temperature
from models.meta import ModelMeta
from models.onnx.cache import onnx_for_checkpoint
from models.onnx.metadata import INPUT_IMAGE, INPUT_MC, INPUT_RATE, OnnxModelError, OnnxModelInfo, read_onnx_info
from models.preprocess import FramePreprocessor

log = logging.getLogger(__name__)

RANDOM_OPS = ("RandomUniformLike", "RandomUniform", "RandomNormalLike", "RandomNormal")


class OpenVinoSegmenter:
    """A compiled OpenVINO model behind the ``Segmenter`` interface (CPU; tensors on the CPU).

    ``predict`` is serialised by a lock (one infer request); the server calls it from one thread.
    """

    backend = "openvino"
    backend_choice = "openvino"  # load_segmenter says what was asked and why this backend runs

    def __init__(self, compiled: ov.CompiledModel, info: OnnxModelInfo, path: Path, threads: int) -> None:
        self.compiled = compiled
        self.info = info
        self.meta: ModelMeta = info.meta
        self.device = torch.device("cpu")
        self.path = path
        self.threads = threads
        self.has_dropout = info.stochastic and info.meta.dropout > 0
        self._has_rate = INPUT_RATE in {name for port in compiled.inputs for name in port.get_names()}
        self._request = compiled.create_infer_request()
        self._lock = threading.Lock()
        self._prepare = FramePreprocessor(info.meta, self.device)

    def prepare(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        return self._prepare(frames)

    @torch.inference_mode()
    def predict(
        self, batch: torch.Tensor, mc: bool, temperature: float = 1.0, rate: float | None = None
    ) -> torch.Tensor:
        check_call(self.meta, self.path, self.has_dropout, batch, mc)
        feeds: dict[str, np.ndarray] = {INPUT_IMAGE: batch.detach().to("cpu", torch.float32).contiguous().numpy()}
        if self.info.stochastic:
            feeds[INPUT_MC] = np.array(mc)
            if self._has_rate:  # a graph with a run-time dropout rate (default: the checkpoint's)
                feeds[INPUT_RATE] = np.array(self.meta.dropout if rate is None else rate, dtype=np.float32)
            elif rate is not None and rate != self.meta.dropout:
                raise ValueError(f"{self.path.name} has no rate input: it samples only at rate {self.meta.dropout}")
        with self._lock:
            self._request.infer(feeds)
            probs = torch.from_numpy(self._request.get_output_tensor(0).data.copy())
        return probs if temperature == 1.0 else with_temperature(probs, temperature)


def load_openvino_segmenter(path: str | Path, threads: int | None = None, seed: int | None = None) -> OpenVinoSegmenter:
    """Compile an exported ``.onnx`` file (or a vqseg checkpoint, exported once into the cache) for the CPU.

    ``threads``: OpenVINO's inference threads (default ``torch.get_num_threads()``, like the other
    backends). ``seed`` seeds the dropout masks (default: drawn from torch's global generator).
    Precision stays fp32 (``INFERENCE_PRECISION_HINT``), so outputs match torch's.
    """
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        path = onnx_for_checkpoint(path)
    info = read_onnx_info(path)
    threads = int(threads) if threads else torch.get_num_threads()
    seed = int(torch.randint(1, 2**31 - 1, ()).item()) if seed is None else int(seed)
    core = ov.Core()
    try:
        model = core.read_model(_seeded_model(path, seed)) if info.stochastic else core.read_model(str(path))
        config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
        compiled = core.compile_model(model, "CPU", config)
    except RuntimeError as exc:  # OpenVINO reports invalid graphs as RuntimeError subclasses
        raise OnnxModelError(f"OpenVINO cannot compile {path}: {exc}") from exc
    segmenter = OpenVinoSegmenter(compiled, info, path, threads)
    if info.stochastic and not draws_fresh_masks(segmenter):
        raise OnnxModelError(f"{path}: dropout is not stochastic in OpenVINO (two MC passes are identical)")
    log.info("openvino %s: %s runs on CPU, %d thread(s), %s", ov.get_version(), path.name, threads, info.precision)
    return segmenter


def _seeded_model(path: Path, seed: int) -> str | io.BytesIO:
    """The file with a distinct ``seed`` on each random node, so that masks follow ``torch.manual_seed``.
    A model with external weights is read from disk unseeded (OpenVINO then draws its own seeds)."""
    model = onnx.load(str(path), load_external_data=False)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
        log.info("openvino: %s keeps its weights in a side file; its dropout masks are not seeded", path.name)
        return str(path)
    for index, node in enumerate(n for n in model.graph.node if n.op_type in RANDOM_OPS):
        kept = [a for a in node.attribute if a.name != "seed"]
        del node.attribute[:]
        node.attribute.extend([*kept, onnx.helper.make_attribute("seed", float((seed + 7919 * index) % 2**24))])
    return io.BytesIO(model.SerializeToString())

