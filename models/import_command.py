"""``vqseg import``: a model from SMP, torchvision, Hugging Face or a pickled module, to a vqseg ONNX file
(or a ``.pt2`` program with its sidecar), checked by loading it back."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from models.importing import SOURCES, describe_for_import, import_module, load_source
from models.sidecar_flags import add_description_flags, description_overrides


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--from", dest="source", choices=SOURCES, required=True,
        help="smp / hf: a save_pretrained folder; torchvision: a state_dict file with --arch; "
        "module: a torch.save(model) file")
    add("path", type=Path, help="the folder or file to import")
    add("--out", type=Path, required=True, help="model.onnx (self-describing) or model.pt2 (+ model.vqseg.yaml)")
    add("--arch", help="torchvision architecture, e.g. lraspp_mobilenet_v3_large, deeplabv3_mobilenet_v3_large")
    add("--name", help="the model's name (default: the output file's stem)")
    add("--exporter", choices=("torchscript", "dynamo"), default="torchscript",
        help="torch's ONNX exporter (default torchscript: fast; dynamo: the newer one)")
    add("--device", default="cpu", help="where the check after writing runs (default cpu)")
    add_description_flags(parser)


def run(args: argparse.Namespace) -> int:
    from models import CheckpointError, load_segmenter
    from models.capabilities import capabilities_of

    started = time.perf_counter()
    overrides = {**description_overrides(args), "name": args.name or args.out.stem}
    try:
        preset_classes = None
        if args.source == "torchvision":
            from models.sidecar import parse_description, read_sidecar_file

            data = {**(read_sidecar_file(args.sidecar) if args.sidecar else {}), **overrides}
            preset_classes = len(parse_description(data, "flags").class_names)
        model = load_source(args.source, args.path, args.arch, preset_classes)
        description = describe_for_import(model, overrides, args.sidecar)
        out = import_module(model, description, args.out, arch=args.source, exporter=args.exporter)
        segmenter = load_segmenter(out, device=args.device)
    except (CheckpointError, ValueError, OSError) as exc:
        print(f"vqseg import: {exc}", file=sys.stderr)
        return 2
    caps = capabilities_of(segmenter)
    meta = segmenter.meta
    h, w = meta.input_size
    print(f"wrote {out} from {args.source} {args.path} in {time.perf_counter() - started:.1f} s: "
          f"{meta.num_classes} classes ({', '.join(meta.class_names[:4])}{', ...' if meta.num_classes > 4 else ''}), "
          f"input {h}x{w}; dropout: {caps.dropout}; modes: {', '.join(caps.modes)}")
    return 0
