"""What a vqseg ONNX file says about itself, in the model's ``metadata_props``.

``vqseg.meta`` holds the checkpoint's full metadata as JSON (the one the loader reads); ``classes``,
``palette``, ``mean``, ``std``, ``input_size`` and ``dropout`` repeat the parts other tools show.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import onnx

from models.checkpoint import CheckpointError
from models.meta import ModelMeta

FORMAT = "vqseg-onnx"
VERSION = 2  # 2: stochastic graphs take the MC dropout rate as the input ``rate``

INPUT_IMAGE = "image"
INPUT_MC = "mc"
INPUT_RATE = "rate"
OUTPUT_PROBS = "probs"

KEY_FORMAT = "vqseg.format"
KEY_VERSION = "vqseg.version"
KEY_META = "vqseg.meta"
KEY_STOCHASTIC = "vqseg.stochastic"
KEY_PRECISION = "vqseg.precision"
KEY_DROPOUT_LAYERS = "vqseg.dropout_layers"

PRECISIONS = ("fp32", "fp16", "int8")


class OnnxModelError(CheckpointError):
    """A file is not an ONNX model written by ``vqseg export``, or does not behave like one."""


@dataclass(frozen=True)
class OnnxModelInfo:
    """The network's metadata and how its graph was exported.

    ``stochastic``: the graph has the ``mc`` input and live dropout; otherwise it is the deterministic
    (dnn / vqdnn only) variant with the ``image`` input alone. ``precision``: fp32 or fp16 weights and
    activations (inputs and probabilities are float32 either way).
    """

    meta: ModelMeta
    stochastic: bool
    precision: str
    dropout_layers: int
    version: int = VERSION


def metadata_props(info: OnnxModelInfo) -> dict[str, str]:
    """The ``metadata_props`` entries of an exported file."""
    meta = info.meta
    return {
        KEY_FORMAT: FORMAT,
        KEY_VERSION: str(info.version),
        KEY_META: json.dumps(meta.to_dict(), sort_keys=True),
        KEY_STOCHASTIC: "true" if info.stochastic else "false",
        KEY_PRECISION: info.precision,
        KEY_DROPOUT_LAYERS: str(info.dropout_layers),
        "classes": json.dumps(list(meta.class_names)),
        "palette": json.dumps([list(c) for c in meta.palette]),
        "mean": json.dumps(list(meta.mean)),
        "std": json.dumps(list(meta.std)),
        "input_size": json.dumps(list(meta.input_size)),
        "dropout": str(meta.dropout),
    }


def parse_metadata(props: Mapping[str, str], source: str) -> OnnxModelInfo:
    """Read ``metadata_props`` back; ``source`` names the file in errors."""
    if props.get(KEY_FORMAT) != FORMAT:
        raise OnnxModelError(
            f"{source} is not a vqseg ONNX model (no '{KEY_FORMAT}={FORMAT}' metadata); "
            "export networks with 'vqseg export' so the file carries classes, palette and normalisation"
        )
    try:
        version = int(props.get(KEY_VERSION, "0"))
        meta = ModelMeta.from_dict(json.loads(props[KEY_META]))
        precision = props.get(KEY_PRECISION, "fp32")
        layers = int(props.get(KEY_DROPOUT_LAYERS, "0"))
    except (KeyError, ValueError, TypeError) as exc:
        raise OnnxModelError(f"{source}: unreadable vqseg metadata: {exc}") from exc
    if version > VERSION:
        raise OnnxModelError(f"{source} has vqseg ONNX version {version}, newer than this vqseg ({VERSION})")
    if precision not in PRECISIONS:
        raise OnnxModelError(f"{source}: unknown precision {precision!r}")
    stochastic = props.get(KEY_STOCHASTIC) == "true"
    return OnnxModelInfo(meta=meta, stochastic=stochastic, precision=precision, dropout_layers=layers, version=version)


def read_onnx_info(path: str | Path) -> OnnxModelInfo:
    """Metadata of an exported file, without loading its weights."""
    path = Path(path)
    if not path.is_file():
        raise OnnxModelError(f"ONNX model not found: {path}")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises several types for foreign files
        raise OnnxModelError(f"{path} is not a readable ONNX model: {exc}") from exc
    return parse_metadata({p.key: p.value for p in model.metadata_props}, str(path))


def write_temperatures(path: str | Path, out: str | Path, temperatures: Mapping[str, float]) -> Path:
    """A copy of the vqseg ONNX file ``path`` at ``out`` whose metadata carries ``temperatures``
    (``vqseg calibrate`` on an exported or imported model; the backends apply them)."""
    path, out = Path(path), Path(out)
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    info = parse_metadata(props, str(path))
    meta = replace(info.meta, temperatures={str(k): float(v) for k, v in temperatures.items()})
    onnx.helper.set_model_props(model, {**props, **metadata_props(replace(info, meta=meta))})
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    return out
