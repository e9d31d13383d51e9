"""int8 with live MC dropout: static post-training quantization of an exported file (ONNX Runtime's quantizer).

``quantize_int8`` rewrites an fp32 vqseg file in QDQ form: convolutions get int8 weights (per output
channel) and uint8 activations whose ranges come from calibration frames; pooling, concatenation and
resizing follow their inputs' scales. **The dropout masks are never quantized**: every node that draws
or shapes a mask (``RandomUniformLike`` and everything computed from it up to the multiplication with
the activations, that one included) is excluded, so the kept values stay exactly ``1/(1-p)`` and the
masks stay random. Calibration runs half of the frames with dropout on, so the activation ranges cover
the scaled values that ``bnn``/``vqbnn`` produce.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

from models.meta import ModelMeta
from models.onnx.metadata import INPUT_IMAGE, INPUT_MC, INPUT_RATE, KEY_PRECISION, read_onnx_info
from models.preprocess import FramePreprocessor

RANDOM_OPS = frozenset({"RandomUniformLike", "RandomUniform", "RandomNormalLike", "RandomNormal", "Bernoulli"})
QUANTIZED_OPS = ("Conv", "ConvTranspose", "MaxPool", "Concat", "Resize")
KEY_QUANTIZATION = "vqseg.quantization"


@dataclass(frozen=True)
class QuantizeResult:
    path: Path
    mask_nodes: int
    quantized_nodes: int
    calibration_frames: int
    size_bytes: int


def mask_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes that draw or apply a dropout mask: everything computed from a random op,
    up to and including the node that multiplies the mask into the activations."""
    nodes = list(model.graph.node)
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in nodes:
        for name in node.input:
            consumers[name].append(node)
    producer = {out: node for node in nodes for out in node.output}
    image_derived = {INPUT_IMAGE}  # tensors computed from the frame (the rate and mc inputs are not)
    for node in nodes:  # graph nodes are in topological order
        if any(i in image_derived for i in node.input):
            image_derived.update(node.output)
    found = {n.name for n in nodes if n.op_type in RANDOM_OPS}
    front = [n for n in nodes if n.op_type in RANDOM_OPS]
    while front:
        following = []
        for node in front:
            for out in node.output:
                for user in consumers[out]:
                    if user.name in found:
                        continue
                    found.add(user.name)
                    # a node that also reads activations applies the mask: excluded, but not followed
                    activations = [
                        i for i in user.input
                        if i in producer and producer[i].name not in found and producer[i].op_type != "Constant"
                        and i in image_derived
                    ]
                    if not activations:
                        following.append(user)
        front = following
    return sorted(found)


class _Frames(CalibrationDataReader):
    """Calibration batches of one frame each; odd frames with dropout on (when the graph has ``mc``)."""

    def __init__(
        self, frames: Sequence[np.ndarray], meta: ModelMeta, stochastic: bool, has_rate: bool = False
    ) -> None:
        prepare = FramePreprocessor(meta, torch.device("cpu"))
        rate = meta.dropout if has_rate else None
        self._feeds: Iterator[dict[str, np.ndarray]] = iter(
            [
                self._feed(prepare([f]).numpy(), stochastic and i % 2 == 1, stochastic, rate)
                for i, f in enumerate(frames)
            ]
        )

    @staticmethod
    def _feed(image: np.ndarray, mc: bool, stochastic: bool, rate: float | None = None) -> dict[str, np.ndarray]:
        if not stochastic:
            return {INPUT_IMAGE: image}
        feeds = {INPUT_IMAGE: image, INPUT_MC: np.array(mc)}
        if rate is not None:  # graphs with the rate input (vqseg ONNX format 2) sample at the training rate
            feeds[INPUT_RATE] = np.array(rate, dtype=np.float32)
        return feeds

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def quantize_int8(fp32_path: str | Path, out_path: str | Path, frames: Sequence[np.ndarray]) -> QuantizeResult:
    """Write the int8 (QDQ) version of the vqseg file ``fp32_path`` to ``out_path``, calibrated on ``frames``
    (RGB uint8, any size; a few dozen street frames are plenty)."""
    fp32_path, out_path = Path(fp32_path), Path(out_path)
    info = read_onnx_info(fp32_path)
    if info.precision != "fp32":
        raise ValueError(f"{fp32_path} is {info.precision}; int8 quantization starts from an fp32 export")
    if not frames:
        raise ValueError("int8 quantization needs calibration frames")
    source = onnx.load(str(fp32_path))
    excluded = mask_nodes(source)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    quantize_static(
        str(fp32_path),
        str(tmp),
        _Frames(frames, info.meta, info.stochastic, any(i.name == INPUT_RATE for i in source.graph.input)),
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=list(QUANTIZED_OPS),
        nodes_to_exclude=excluded,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        calibration_providers=["CPUExecutionProvider"],
    )
    model = onnx.load(str(tmp))
    quantized = sum(n.op_type == "QuantizeLinear" for n in model.graph.node)
    props = {p.key: p.value for p in model.metadata_props}
    props[KEY_PRECISION] = "int8"
    props[KEY_QUANTIZATION] = json.dumps({
        "method": "static post-training, QDQ, MinMax calibration", "weights": "int8 per channel",
        "activations": "uint8 per tensor", "ops": list(QUANTIZED_OPS), "calibration_frames": len(frames),
        "dropout_masks": f"float32, {len(excluded)} mask nodes excluded",
    })
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, props)
    onnx.save(model, str(tmp))
    tmp.replace(out_path)
    return QuantizeResult(out_path, len(excluded), quantized, len(frames), out_path.stat().st_size)
