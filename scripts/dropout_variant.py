"""Write a copy of a vqseg checkpoint whose MC dropout sits elsewhere or is of another kind.

Dropout layers hold no weights, so the same weights load under any ``dropout_placement`` /
``dropout_kind`` of ``bayesian_unet``: this is how docs/training.md's inference-time ablation samples
the shipped network only in its tail or head. Usage:
    python scripts/dropout_variant.py SRC.pt OUT.pt --placement head --kind element
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from models import load_checkpoint, save_checkpoint
from models.checkpoint import build_model
from models.nets.bayesian_unet import PLACEMENTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--placement", choices=PLACEMENTS, required=True)
    parser.add_argument("--kind", choices=("channel", "element"), required=True)
    args = parser.parse_args()
    model, meta = load_checkpoint(args.source)
    if meta.arch != "bayesian_unet":
        raise SystemExit(f"{args.source}: only bayesian_unet has placement options (got {meta.arch})")
    options = {**meta.arch_options, "dropout_placement": args.placement, "dropout_kind": args.kind}
    variant = replace(meta, arch_options=options, temperatures={}, mc_rates={}, name=args.out.stem)
    net = build_model(variant)
    net.load_state_dict(model.state_dict(), strict=True)
    save_checkpoint(args.out, net, variant)
    sys.stdout.write(f"wrote {args.out}: {options}\n")


if __name__ == "__main__":
    main()
