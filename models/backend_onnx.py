"""ONNX Runtime backend: the same ``Segmenter`` interface as the torch backend, on an exported file.

``load_onnx_segmenter`` accepts a file written by ``vqseg export`` or a vqseg checkpoint, which it
exports once into a cache. Providers come in the order TensorRT → CUDA → CPU, keeping those that can
work here. On a GPU provider with a CUDA device, IO binding hands ONNX Runtime the torch tensors'
device pointers, so frames and probabilities never leave the GPU; on the CPU it runs plainly.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from models.devices import resolve_device
from models.meta import ModelMeta
from models.onnx.cache import onnx_for_checkpoint, tensorrt_cache_dir
from models.onnx.metadata import (
    INPUT_IMAGE,
    INPUT_MC,
    INPUT_RATE,
    OUTPUT_PROBS,
    OnnxModelError,
    OnnxModelInfo,
    read_onnx_info,
)
from models.onnx.providers import (
    CPU,
    GPU_PROVIDERS,
    TENSORRT,
    default_provider_names,
    parse_providers,
    provider_options,
    usable_providers,
)
from models.preprocess import FramePreprocessor
from models.segmenter import Segmenter

log = logging.getLogger(__name__)

# ONNX Runtime removes Dropout nodes even with training_mode=True unless this optimiser is off. vqseg's
# own graphs draw masks with RandomUniformLike, which no optimiser removes; this keeps foreign graphs right.
DISABLED_OPTIMIZERS = ["EliminateDropout"]


class OnnxSegmenter:
    """An ONNX Runtime session behind the ``Segmenter`` interface.

    ``predict(batch, mc)`` feeds the graph's ``mc`` input, so one session serves all four modes; the
    deterministic export (no ``mc`` input) refuses ``mc=True`` as the torch backend does for networks
    without dropout. ``providers`` lists the execution providers the session really uses. ``rate``
    (default: the training rate) feeds the graph's ``rate`` input; a file exported before that input
    existed serves only its baked training rate and refuses another.
    """

    backend = "onnx"
    backend_choice = "onnx"  # load_segmenter says what was asked and why this backend runs

    def __init__(self, session: ort.InferenceSession, info: OnnxModelInfo, device: torch.device, path: Path) -> None:
        self.session = session
        self.info = info
        self.meta: ModelMeta = info.meta
        self.device = device
        self.path = path
        self.providers: list[str] = list(session.get_providers())
        self.has_dropout = info.stochastic and info.meta.dropout > 0
        self._has_rate = INPUT_RATE in {i.name for i in session.get_inputs()}
        self._bind = device.type == "cuda" and self.providers[0] in GPU_PROVIDERS
        self._prepare = FramePreprocessor(info.meta, device)

    def prepare(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        return self._prepare(frames)

    @torch.inference_mode()
    def predict(
        self, batch: torch.Tensor, mc: bool, temperature: float = 1.0, rate: float | None = None
    ) -> torch.Tensor:
        check_call(self.meta, self.path, self.has_dropout, batch, mc)
        p = rate_feed(self.meta, self.path, self._has_rate, rate)
        probs = self._run_bound(batch, mc, p) if self._bind else self._run_host(batch, mc, p)
        return probs if temperature == 1.0 else with_temperature(probs, temperature)

    def _run_host(self, batch: torch.Tensor, mc: bool, rate: np.ndarray) -> torch.Tensor:
        image = batch.detach().to("cpu", torch.float32).contiguous().numpy()
        feeds: dict[str, np.ndarray] = {INPUT_IMAGE: image}
        if self.info.stochastic:
            feeds[INPUT_MC] = np.array(mc)
            if self._has_rate:
                feeds[INPUT_RATE] = rate
        (probs,) = self.session.run([OUTPUT_PROBS], feeds)
        return torch.from_numpy(probs).to(self.device)

    def _run_bound(self, batch: torch.Tensor, mc: bool, rate: np.ndarray) -> torch.Tensor:
        image = batch.detach().to(self.device, torch.float32).contiguous()
        b, _, h, w = image.shape
        probs = torch.empty((b, self.meta.num_classes, h, w), device=self.device, dtype=torch.float32)
        index = self.device.index if self.device.index is not None else torch.cuda.current_device()
        binding = self.session.io_binding()
        binding.bind_input(INPUT_IMAGE, "cuda", index, np.float32, list(image.shape), image.data_ptr())
        if self.info.stochastic:
            binding.bind_cpu_input(INPUT_MC, np.array(mc))
            if self._has_rate:
                binding.bind_cpu_input(INPUT_RATE, rate)
        binding.bind_output(OUTPUT_PROBS, "cuda", index, np.float32, list(probs.shape), probs.data_ptr())
        torch.cuda.current_stream(self.device).synchronize()  # the batch is ready before ORT reads it
        self.session.run_with_iobinding(binding)
        return probs


def rate_feed(meta: ModelMeta, path: Path, has_rate_input: bool, rate: float | None) -> np.ndarray:
    """The graph's ``rate`` input for an MC rate (None: the training rate). A graph exported before the
    input existed samples only at its baked training rate and refuses another."""
    value = meta.dropout if rate is None else float(rate)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"MC dropout rate must be in [0, 1), got {value}")
    if not has_rate_input and value != meta.dropout:
        raise ValueError(
            f"{path.name} was exported without the rate input: it samples only at rate "
            f"{meta.dropout}; export it again with this vqseg to serve rate {value}"
        )
    return np.array(value, dtype=np.float32)


def check_call(meta: ModelMeta, path: Path, has_dropout: bool, batch: torch.Tensor, mc: bool) -> None:
    """What every exported-graph backend refuses: MC sampling without live dropout, a batch of the wrong shape."""
    if mc and not has_dropout:
        raise ValueError(f"model {meta.name!r} ({path.name}) has no live dropout: MC sampling is not possible")
    if batch.dim() != 4 or batch.shape[1] != 3:
        raise ValueError(f"expected a (B, 3, H, W) batch, got shape {tuple(batch.shape)}")


def with_temperature(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """``softmax(z / T)`` from the graph's ``softmax(z)``: ``log p`` is ``z`` up to a per-pixel constant,
    which the softmax removes. (Probabilities below float32's smallest normal, ~1e-38, are floored there.)"""
    floor = torch.finfo(torch.float32).tiny
    return torch.softmax(probs.float().clamp_min(floor).log() / temperature, dim=1)


def load_onnx_segmenter(
    path: str | Path,
    device: str = "auto",
    providers: str | Sequence[str] | None = None,
    seed: int | None = None,
    max_batch: int = 16,
    threads: int | None = None,
) -> OnnxSegmenter:
    """Open an exported ``.onnx`` file (or a vqseg checkpoint, exported once into the cache).

    ``device`` says where batches and probabilities live (``auto``: CUDA when torch sees it).
    ``providers`` (names or aliases, e.g. ``"cuda,cpu"``) overrides TensorRT → CUDA → CPU; providers
    that cannot work here are skipped with one log line. ``seed`` seeds the session's dropout masks;
    by default it is drawn from torch's global generator, so ``torch.manual_seed`` makes the ONNX
    backend reproducible as it does the torch one, and every session gets its own mask sequence
    (ONNX Runtime alone would give every session of a process the same one). ``max_batch`` bounds
    TensorRT's shape profile. ``threads``: the CPU provider's intra-op threads (default
    ``torch.get_num_threads()``).
    """
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        path = onnx_for_checkpoint(path)
    info = read_onnx_info(path)
    torch_device = resolve_device(device)
    wanted = parse_providers(providers) if providers is not None else default_provider_names(torch_device)
    names, skipped = usable_providers(wanted)
    session = _session(path, info, torch_device, names, max_batch, seed, threads)
    segmenter = OnnxSegmenter(session, info, torch_device, path)
    if info.stochastic and not draws_fresh_masks(segmenter) and TENSORRT in segmenter.providers:
        skipped[TENSORRT] = "its engine froze the dropout masks"
        names = [n for n in names if n != TENSORRT]
        segmenter = OnnxSegmenter(
            _session(path, info, torch_device, names, max_batch, seed, threads), info, torch_device, path
        )
    if info.stochastic and not draws_fresh_masks(segmenter):
        raise OnnxModelError(f"{path}: dropout is not stochastic in ONNX Runtime (two MC passes are identical)")
    _log_choice(segmenter, wanted, skipped)
    return segmenter


def _session(
    path: Path,
    info: OnnxModelInfo,
    device: torch.device,
    names: list[str],
    max_batch: int,
    seed: int | None,
    threads: int | None = None,
) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if names == [CPU]:
        options.intra_op_num_threads = int(threads) if threads else torch.get_num_threads()
    cache = tensorrt_cache_dir() if TENSORRT in names else None
    provider_opts = [provider_options(n, device, info.meta.input_size, max_batch, cache) for n in names]
    # Unseeded random ops take their seed from this process-wide value when the session is created.
    ort.set_seed(int(torch.randint(0, 2**31 - 1, ()).item()) if seed is None else int(seed))
    try:
        return ort.InferenceSession(
            str(path),
            sess_options=options,
            providers=names,
            provider_options=provider_opts,
            disabled_optimizers=DISABLED_OPTIMIZERS,
        )
    except Exception as exc:  # onnxruntime raises its own exception types for invalid graphs
        raise OnnxModelError(f"ONNX Runtime cannot open {path}: {exc}") from exc


def draws_fresh_masks(segmenter: Segmenter, tries: int = 3) -> bool:
    """MC passes over one input differ (also warms the model up; TensorRT builds its engine here).

    A few tries, so that a network with one small-rate dropout layer, whose passes can keep every
    channel by chance, is not mistaken for one with frozen masks.
    """
    h, w = segmenter.meta.input_size
    generator = torch.Generator().manual_seed(0)
    batch = torch.randn((2, 3, h, w), generator=generator).to(segmenter.device)
    first = segmenter.predict(batch, mc=True)
    return any(not torch.equal(first, segmenter.predict(batch, mc=True)) for _ in range(tries))


def _log_choice(segmenter: OnnxSegmenter, wanted: list[str], skipped: dict[str, str]) -> None:
    lost = [f"{name} ({reason})" for name, reason in skipped.items()]
    unused = [n for n in wanted if n not in segmenter.providers and n not in skipped]
    lost += [f"{name} (failed to start)" for name in unused]
    runs_on = segmenter.providers[0]
    # A CUDA device whose network runs on the CPU provider works, but copies every batch: say so louder.
    level = logging.WARNING if segmenter.device.type == "cuda" and runs_on == CPU else logging.INFO
    skipped_text = f"; skipped {', '.join(lost)}" if lost else ""
    log.log(
        level,
        "onnxruntime %s: %s runs on %s, tensors on %s%s",
        ort.__version__,
        segmenter.path.name,
        runs_on,
        segmenter.device,
        skipped_text,
    )
