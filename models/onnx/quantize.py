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
import onnxruntime as ort
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
    """Names of the nodes that draw or apply a dropout mask: everything computed from a random op (with
    constants, ``mc`` or a ``rate`` input), up to and including the node that multiplies the mask into
    the activations (the first one that also reads a tensor computed from the image's values)."""
    nodes = list(model.graph.node)
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in nodes:
        for name in node.input:
            consumers[name].append(node)
    activations = _image_values(nodes, consumers)
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
                    if not any(i in activations for i in user.input):  # still the mask: follow it
                        following.append(user)
        front = following
    return sorted(found)


def _image_values(nodes: list[onnx.NodeProto], consumers: dict[str, list[onnx.NodeProto]]) -> set[str]:
    """Tensors whose values depend on the image's values (not through shapes only, nor random draws)."""
    values = {INPUT_IMAGE}
    front = [INPUT_IMAGE]
    while front:
        tensor = front.pop()
        for user in consumers[tensor]:
            if user.op_type in RANDOM_OPS or user.op_type in ("Shape", "Size"):
                continue
            for out in user.output:
                if out not in values:
                    values.add(out)
                    front.append(out)
    return values


class _Frames(CalibrationDataReader):
    """Calibration batches of one frame each; odd frames with dropout on (when the graph has ``mc``), at
    the checkpoint's rate when the graph takes a ``rate`` input."""

    def __init__(self, frames: Sequence[np.ndarray], meta: ModelMeta, inputs: set[str]) -> None:
        prepare = FramePreprocessor(meta, torch.device("cpu"))
        feeds = []
        for i, frame in enumerate(frames):
            feed = {INPUT_IMAGE: prepare([frame]).numpy()}
            if INPUT_MC in inputs:
                feed[INPUT_MC] = np.array(i % 2 == 1)
            if INPUT_RATE in inputs:
                feed[INPUT_RATE] = np.array(meta.dropout, dtype=np.float32)
            feeds.append(feed)
        self._feeds: Iterator[dict[str, np.ndarray]] = iter(feeds)

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
    ort.set_seed(0)  # the dropout masks of the calibration passes: the same file from the same frames
    quantize_static(
        str(fp32_path),
        str(tmp),
        _Frames(frames, info.meta, {i.name for i in source.graph.input}),
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
