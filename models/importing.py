"""``vqseg import``: a model object or checkpoint from SMP, torchvision, Hugging Face (or any torch
module) to a self-describing vqseg ONNX file (live MC dropout behind ``mc`` where the network has
dropout), or to a ``torch.export`` program (``.pt2``) with its sidecar.

``import_module(model, description, out)`` is the Python entry: the network is wrapped so that it
returns logits at the input size (``.logits`` of Hugging Face outputs, torchvision's ``out``, a
coarser output upsampled bilinearly), then exported like vqseg's own networks (``models.onnx``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from models.checkpoint import CheckpointError
from models.dropout import dropout_modules
from models.foreign_torch import pick_output
from models.sidecar import ModelDescription, write_sidecar

log = logging.getLogger(__name__)

SOURCES = ("smp", "torchvision", "hf", "module")


class LogitsAtInputSize(nn.Module):
    """``net`` returning one ``(B, C, H, W)`` logits tensor at its input's size."""

    def __init__(self, net: nn.Module, output_name: str | None = None) -> None:
        super().__init__()
        self.net = net
        self.output_name = output_name

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = pick_output(self.net(image), self.output_name)
        if logits.shape[-2:] != image.shape[-2:]:
            logits = F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)
        return logits


def load_source(source: str, path: str | Path, arch: str | None = None, num_classes: int | None = None) -> nn.Module:
    """A model from ``path``: an SMP ``save_pretrained`` folder, a Hugging Face ``save_pretrained`` folder,
    torchvision weights (``arch`` names the architecture), or a whole pickled module (trusted code)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    if source == "smp":
        import segmentation_models_pytorch as smp

        return smp.from_pretrained(str(path))
    if source == "hf":
        from transformers import AutoModelForSemanticSegmentation

        return AutoModelForSemanticSegmentation.from_pretrained(str(path), local_files_only=True)
    if source == "torchvision":
        import torchvision

        if arch is None or num_classes is None:
            raise CheckpointError("--from torchvision needs --arch (e.g. lraspp_mobilenet_v3_large) and the classes")
        model = torchvision.models.get_model(arch, weights=None, weights_backbone=None, num_classes=num_classes)
        state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            model.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
        except RuntimeError as exc:
            raise CheckpointError(f"{path.name}: weights do not fit torchvision {arch!r}: {exc}") from exc
        return model
    if source == "module":
        module = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(module, nn.Module):
            raise CheckpointError(f"{path.name} holds a {type(module).__name__}, not a torch module")
        return module
    raise CheckpointError(f"unknown source {source!r}; choose one of: {', '.join(SOURCES)}")


def hf_class_names(model: nn.Module) -> tuple[str, ...] | None:
    """A Hugging Face model's own class names (``config.id2label``), unless they are the LABEL_i defaults."""
    labels = getattr(getattr(model, "config", None), "id2label", None)
    if not labels:
        return None
    names = tuple(str(labels[i]) for i in sorted(labels))
    return None if all(n == f"LABEL_{i}" for i, n in enumerate(names)) else names


def import_module(
    model: nn.Module, description: ModelDescription, out: str | Path, arch: str = "imported",
    exporter: str = "torchscript",
) -> Path:
    """Write ``model`` (described by ``description``, which must give the input size) to ``out``:
    ``.onnx`` (vqseg metadata, no sidecar needed) or ``.pt2`` (+ ``out``'s sidecar)."""
    out = Path(out)
    if description.input_size is None:
        raise CheckpointError("the input size is needed to import a model: --input-size HxW or input_size in a sidecar")
    if description.output != "logits" or description.layout != "NCHW":
        raise CheckpointError("vqseg import takes networks that return NCHW logits (serve others with a sidecar)")
    net = LogitsAtInputSize(model.eval(), description.output_name).eval()
    rates = [float(getattr(m, "p", 0.0)) for m in dropout_modules(net)]
    dropout = max(rates, default=0.0)
    example = torch.randn(2, 3, *description.input_size)
    with torch.inference_mode():
        classes = int(net(example).shape[1])
    if classes != len(description.class_names):
        raise CheckpointError(f"the model outputs {classes} classes per pixel but {len(description.class_names)} "
                              "are named")
    if out.suffix == ".onnx":
        return _to_onnx(net, description, out, arch, dropout, example, exporter)
    if out.suffix == ".pt2":
        program = torch.export.export(net, (example,), dynamic_shapes=({0: torch.export.Dim.AUTO},))
        torch.export.save(program, str(out))
        data = {"name": description.name, "classes": list(description.class_names),
                "palette": [list(c) for c in description.palette], "input_size": list(description.input_size),
                "mean": list(description.mean), "std": list(description.std)}
        write_sidecar(out.with_name(out.name[: -len(".pt2")] + ".vqseg.yaml"), data)
        return out
    raise CheckpointError(f"{out.name}: write .onnx (self-describing) or .pt2 (+ sidecar)")


def _to_onnx(net: nn.Module, description: ModelDescription, out: Path, arch: str, dropout: float,
             example: torch.Tensor, exporter: str) -> Path:
    from models.onnx.export import export_module
    from models.onnx.graph import ProbabilityGraph
    from models.onnx.metadata import OnnxModelInfo, metadata_props

    assert description.input_size is not None
    stochastic = dropout > 0
    graph = ProbabilityGraph(net, stochastic=stochastic)
    meta = replace(description.meta(arch, description.input_size, dropout if stochastic else 0.0, {}),
                   arch_options={"imported": arch})
    info = OnnxModelInfo(meta=meta, stochastic=stochastic, precision="fp32", dropout_layers=graph.dropout_layers)
    result = export_module(graph, out, example, metadata_props(info), exporter=exporter)  # type: ignore[arg-type]
    log.info("imported %s: %d dropout layer(s) %s", out.name, graph.dropout_layers,
             "live behind 'mc'" if stochastic else "(none: dnn and vqdnn only)")
    return result.path


def describe_for_import(model: nn.Module, overrides: dict[str, Any], sidecar: str | Path | None) -> ModelDescription:
    """The description of an imported model: a sidecar file, flags, and a Hugging Face model's own labels."""
    from models.sidecar import SidecarError, parse_description, read_sidecar_file

    data: dict[str, Any] = read_sidecar_file(sidecar) if sidecar else {}
    data.update(overrides)
    if "preset" not in data and "classes" not in data:
        names = hf_class_names(model)
        if names is None:
            raise SidecarError("name the classes: --preset camvid11|cityscapes19|ade20k150 or 'classes:' in --sidecar")
        data["classes"] = list(names)
    return parse_description(data, str(sidecar) if sidecar else "flags")
