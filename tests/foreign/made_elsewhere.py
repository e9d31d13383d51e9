"""Small, randomly initialised segmentation models made by other tools (no downloads), written as the
files their users would bring: ONNX from ``torch.onnx.export``, ``torch.export`` programs, TorchScript.

Every factory writes the model file and a two- or three-line sidecar next to it and returns the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

SIZE = (64, 96)  # height, width every test model takes


def _quiet() -> None:
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning)


def smp_unet(classes: int, head_dropout: float = 0.3, kind: type[nn.Module] = nn.Dropout2d) -> nn.Module:
    """segmentation-models-pytorch U-Net (timm MobileNetV3-small encoder, 0.3 M parameters) with a
    ``Dropout2d`` (or ``kind``) in its segmentation head, in eval mode."""
    import segmentation_models_pytorch as smp

    torch.manual_seed(0)
    model = smp.Unet("tu-mobilenetv3_small_050", encoder_weights=None, classes=classes, encoder_depth=3,
                     decoder_channels=(16, 8, 4))
    if head_dropout > 0:
        model.segmentation_head = nn.Sequential(kind(head_dropout), *model.segmentation_head)
    return model.eval()


def write_sidecar(model_file: Path, text: str) -> Path:
    sidecar = model_file.with_name(model_file.name.rsplit(".", 1)[0] + ".vqseg.yaml")
    sidecar.write_text(text)
    return model_file


def lraspp_onnx(folder: Path) -> Path:
    """torchvision LRASPP-MobileNetV3, 19 classes, exported with plain ``torch.onnx.export`` defaults
    (dynamo; fixed 1x3x64x96 input, no dropout). Sidecar: the Cityscapes preset only."""
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    _quiet()
    torch.manual_seed(0)
    model = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=19).eval()
    path = folder / "lraspp.onnx"
    torch.onnx.export(model, (torch.randn(1, 3, *SIZE),), str(path))
    return write_sidecar(path, "preset: cityscapes19\n")


class _Logits(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixel_values).logits


def segformer(classes: int = 19) -> nn.Module:
    """transformers ``SegformerForSemanticSegmentation`` from a small config (logits at 1/4 of the input),
    eval mode with its classifier dropout (p=0.2) left in train mode, as a user exporting for MC would."""
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    torch.manual_seed(0)
    config = SegformerConfig(num_labels=classes, depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128],
                             decoder_hidden_size=64, classifier_dropout_prob=0.2, hidden_dropout_prob=0.0,
                             attention_probs_dropout_prob=0.0, drop_path_rate=0.0)
    return _Logits(SegformerForSemanticSegmentation(config)).eval()


def segformer_onnx(folder: Path) -> Path:
    """SegFormer exported with the classic exporter, dynamic batch/height/width, its dropout kept as an
    ONNX ``Dropout`` node (``training=PRESERVE``). Sidecar: preset and input size."""
    _quiet()
    model = segformer()
    for module in model.modules():
        if isinstance(module, nn.Dropout) and module.p > 0:
            module.train()
    path = folder / "segformer.onnx"
    torch.onnx.export(
        model, (torch.randn(2, 3, *SIZE),), str(path), input_names=["pixel_values"], output_names=["logits"],
        dynamo=False, opset_version=17, training=torch.onnx.TrainingMode.PRESERVE,
        dynamic_axes={"pixel_values": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch", 2: "h4", 3: "w4"}},
    )
    return write_sidecar(path, "preset: cityscapes19\ninput_size: 64x96\n")


def smp_pt2(folder: Path) -> Path:
    """The SMP U-Net (CamVid's 11 classes, head dropout) as a ``torch.export`` program (``.pt2``)."""
    _quiet()
    model = smp_unet(11)
    program = torch.export.export(model, (torch.randn(2, 3, *SIZE),),
                                  dynamic_shapes=({0: torch.export.Dim.AUTO},))
    path = folder / "smp_unet.pt2"
    torch.export.save(program, str(path))
    return write_sidecar(path, "preset: camvid11\ninput_size: 64x96\n")


def smp_torchscript(folder: Path, traced: bool = False) -> Path:
    """The SMP U-Net (19 classes, head dropout) as TorchScript: scripted (dropout stays switchable) or
    traced in eval mode (its dropout is baked in, frozen)."""
    _quiet()
    model = smp_unet(19)
    module = torch.jit.trace(model, torch.randn(1, 3, *SIZE)) if traced else torch.jit.script(model)
    path = folder / ("smp_traced.pt" if traced else "smp_scripted.pt")
    module.save(str(path))
    return write_sidecar(path, "preset: cityscapes19\ninput_size: 64x96\n")


def _head_dropout_sampling(model: nn.Module) -> nn.Module:
    model.segmentation_head[0].train()  # as a user exporting for MC would
    return model


def smp_onnx(folder: Path) -> Path:
    """The SMP U-Net (CamVid-11) with an element-wise ``Dropout`` (p=0.3) in its head, exported with the
    classic exporter keeping the dropout as an ONNX ``Dropout`` node (``training=PRESERVE``; the classic
    exporter cannot write ``Dropout2d`` in training mode), dynamic batch. Sidecar: the preset only."""
    _quiet()
    model = _head_dropout_sampling(smp_unet(11, kind=nn.Dropout))
    path = folder / "smp_unet_dropout.onnx"
    torch.onnx.export(
        model, (torch.randn(2, 3, *SIZE),), str(path), input_names=["image"], output_names=["logits"],
        dynamo=False, opset_version=17, training=torch.onnx.TrainingMode.PRESERVE,
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
    )
    return write_sidecar(path, "preset: camvid11\n")


def smp_onnx_random(folder: Path) -> Path:
    """The SMP U-Net (CamVid-11, ``Dropout2d`` head in training mode) exported with plain
    ``torch.onnx.export`` (dynamo): its dropout becomes a ``RandomUniformLike`` mask, rate baked in."""
    _quiet()
    model = _head_dropout_sampling(smp_unet(11))
    path = folder / "smp_random.onnx"
    torch.onnx.export(model, (torch.randn(1, 3, *SIZE),), str(path))
    return write_sidecar(path, "preset: camvid11\n")


def smp_module(folder: Path) -> Path:
    """The SMP U-Net (CamVid-11, ``Dropout2d`` head) saved whole with ``torch.save(model)``."""
    _quiet()
    path = folder / "smp_whole.pth"
    torch.save(smp_unet(11), path)
    return write_sidecar(path, "preset: camvid11\ninput_size: 64x96\nformat: torch-module\n")
