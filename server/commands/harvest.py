"""``vqseg harvest export HARVEST_DIR --out DIR``: harvested frames for CVAT and ``vqseg train --data``."""

from __future__ import annotations

import argparse
from pathlib import Path

from server.events.export import FORMATS, export, read_harvest


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    out = actions.add_parser("export", help="write the harvest as CVAT segmentation masks and a SegNet folder")
    out.add_argument("harvest", type=Path, help="the server's VQSEG_HARVEST_DIR")
    out.add_argument("--out", type=Path, required=True, help="folder to write cvat/, cvat.zip and segnet/ into")
    out.add_argument("--format", default=",".join(FORMATS),
                     help=f"comma separated: {', '.join(FORMATS)} (default: both)")
    out.add_argument("--split", default="train", help="the SegNet split name (default train)")


def run(args: argparse.Namespace) -> int:
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise SystemExit(f"unknown format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    items, classes, _ = read_harvest(args.harvest)
    written = export(args.harvest, args.out, formats, args.split)
    for name, path in written.items():
        print(f"{name}: {path} ({len(items)} frames, {len(classes)} classes)")
    return 0
