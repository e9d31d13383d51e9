"""``vqseg train``: train the default network on synthetic scenes, or fine-tune on a labelled folder."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

import torch

from models.checkpoint import build_model, load_checkpoint, save_checkpoint
from models.meta import ModelMeta
from models.training.dataset import FrameSet
from models.training.folders import load_folder
from models.training.synthetic_data import synthetic_frame_set
from models.training.trainer import TrainConfig, train

log = logging.getLogger(__name__)

# The exact command that produced the shipped default checkpoint (models/default/vqseg_default.pt).
DEFAULT_RECIPE = (
    "vqseg train --out models/default/vqseg_default.pt --arch bayesian_unet --width 16 --dropout 0.5 "
    "--input-size 180x240 --sequences 120 --frames-per-sequence 12 --stride 5 --steps 2400 --batch 8 "
    "--crop 128x160 --lr 3e-3 --seed 0 --threads 1"
)


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH, got {text!r}") from None
    return h, w


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/model.pt"), help="checkpoint to write")
    parser.add_argument("--arch", default="bayesian_unet", help="architecture (see models.available_architectures)")
    parser.add_argument("--width", type=int, default=16, help="bayesian_unet base width")
    parser.add_argument("--dropout", type=float, default=0.5, help="MC-dropout rate")
    parser.add_argument("--input-size", type=_size, default=(180, 240), help="network input HxW")
    parser.add_argument("--data", type=Path, help="labelled folder (CamVid or Cityscapes layout); default: synthetic")
    parser.add_argument("--split", default="train", help="split of --data to train on")
    parser.add_argument("--val-split", default="val", help="split of --data to validate on (skipped if absent)")
    parser.add_argument("--init", type=Path, help="start from this checkpoint's weights (fine-tuning)")
    parser.add_argument("--sequences", type=int, default=120, help="synthetic scenes to render")
    parser.add_argument("--frames-per-sequence", type=int, default=12)
    parser.add_argument("--stride", type=int, default=5, help="frames between samples of one scene")
    parser.add_argument("--steps", type=int, default=2400)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=_size, default=(128, 160), help="training crop HxW")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--eval-every", type=int, default=400)


def _data(args: argparse.Namespace) -> tuple[FrameSet, FrameSet | None]:
    if args.data is not None:
        frames = load_folder(args.data, args.split, args.input_size)
        try:
            val = load_folder(args.data, args.val_split, args.input_size)
        except ValueError:
            val = None
        return frames, val
    frames = synthetic_frame_set(args.sequences, args.frames_per_sequence, args.stride, args.input_size)
    val = synthetic_frame_set(6, 4, 7, args.input_size, seed_base=500, progress=False)
    return frames, val


def _init_weights(model: torch.nn.Module, path: Path) -> None:
    source, _ = load_checkpoint(path)
    own = model.state_dict()
    fitting = {k: v for k, v in source.state_dict().items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(fitting, strict=False)
    log.info("initialised %d/%d tensors from %s", len(fitting), len(own), path)


def run(args: argparse.Namespace) -> int:
    frames, val = _data(args)
    options = {"width": args.width} if args.arch == "bayesian_unet" else {}
    meta = ModelMeta(
        arch=args.arch,
        class_names=frames.class_names,
        palette=frames.palette,
        input_size=args.input_size,
        dropout=args.dropout,
        name=args.out.stem,
        arch_options=options,
    )
    torch.manual_seed(args.seed)
    model = build_model(meta)
    if args.init is not None:
        _init_weights(model, args.init)
    config = TrainConfig(
        steps=args.steps,
        batch_size=args.batch,
        crop=args.crop,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        eval_every=args.eval_every,
    )
    result = train(model, meta, frames, config, val)
    command = "vqseg train " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else "vqseg train"
    meta = ModelMeta(
        **{
            **meta.__dict__,
            "training": {
                "command": command,
                "data": str(args.data) if args.data else "synthetic",
                "frames": len(frames),
                "seconds": round(result.seconds, 1),
                "history": result.history,
            },
        }
    )
    path = save_checkpoint(args.out, model, meta)
    final = result.history[-1] if result.history else {}
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) after {result.seconds / 60:.1f} min; last val: {final}")
    return 0
