"""Command-line flags that stand for a sidecar's keys (``eval``, ``calibrate``, ``bench``, ``import``)."""

from __future__ import annotations

import argparse
from typing import Any


def add_description_flags(parser: argparse.ArgumentParser) -> None:
    """``--sidecar``, ``--preset``, ``--input-size``: describe a model trained elsewhere (docs/models.md)."""
    group = parser.add_argument_group("a model trained elsewhere (docs/models.md)")
    group.add_argument("--sidecar", help="its description (default: MODEL.vqseg.yaml next to the model file)")
    group.add_argument("--preset", help="its classes, instead of a sidecar: camvid11, cityscapes19, ade20k150")
    group.add_argument("--input-size", dest="model_input_size", metavar="HxW",
                       help="the HEIGHTxWIDTH it takes (when its file does not fix it)")


def description_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The sidecar keys the flags gave (empty: none)."""
    given = {"preset": getattr(args, "preset", None), "input_size": getattr(args, "model_input_size", None)}
    return {k: v for k, v in given.items() if v}
