"""``vqseg train``: train on synthetic scenes or a labelled folder (optionally mixed), resumably."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

from models.checkpoint import build_model, load_checkpoint, save_checkpoint
from models.meta import ModelMeta
from models.nets.bayesian_unet import PLACEMENTS
from models.training.curve import write_training_curve
from models.training.dataset import FrameSet, class_weights, mix_frame_sets
from models.training.folders import load_folder
from models.training.resume import resume_path
from models.training.synthetic_data import synthetic_frame_set
from models.training.trainer import TrainConfig, train

log = logging.getLogger(__name__)


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH, got {text!r}") from None
    return h, w


def _range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO,HI, got {text!r}") from None
    if not 0 < lo <= hi:
        raise argparse.ArgumentTypeError(f"expected 0 < LO <= HI, got {text!r}")
    return lo, hi


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/model.pt"), help="checkpoint to write")
    parser.add_argument("--arch", default="bayesian_unet", help="architecture (see models.available_architectures)")
    parser.add_argument("--width", type=int, default=16, help="bayesian_unet base width")
    parser.add_argument("--dropout", type=float, default=0.5, help="MC-dropout rate")
    parser.add_argument("--dropout-kind", choices=("channel", "element"), default="channel",
                        help="bayesian_unet: Dropout2d (whole feature maps) or element-wise Dropout")
    parser.add_argument("--dropout-placement", choices=PLACEMENTS, default="deep",
                        help="bayesian_unet: deep (6 layers), tail (last decoder block + head), head (head only)")
    parser.add_argument("--zoom", type=_range, default=(0.9, 1.4), help="crop zoom range LO,HI (1 = inference scale)")
    parser.add_argument("--blur", type=float, default=0.0, help="share of crops blurred (sigma 0.5-1.5 px)")
    parser.add_argument("--input-size", type=_size, default=(180, 240), help="network input HxW")
    parser.add_argument(
        "--data", type=Path, help="labelled folder (SegNet CamVid, CamVid colour, Cityscapes); default: synthetic"
    )
    parser.add_argument("--split", default="train", help="split of --data to train on")
    parser.add_argument("--val-split", default="val", help="split to validate on (all of it; skipped if absent)")
    parser.add_argument(
        "--mix-synthetic", type=float, default=0.0, metavar="SHARE",
        help="with --data: draw this share of training crops from synthetic scenes (same 11 CamVid classes)",
    )
    parser.add_argument("--class-weights", choices=("none", "median", "sqrt"), default="none",
                        help="loss weights per class: median-frequency balancing, its square root, or none")
    parser.add_argument("--init", type=Path, help="start from this checkpoint's weights (fine-tuning)")
    parser.add_argument("--freeze-bn", action="store_true",
                        help="keep batch norm's running statistics (fine-tuning on a few similar frames, e.g. a "
                             "harvest from one camera: their batch statistics would wreck the network)")
    parser.add_argument("--sequences", type=int, default=120, help="synthetic scenes to render")
    parser.add_argument("--frames-per-sequence", type=int, default=12)
    parser.add_argument("--stride", type=int, default=5, help="frames between samples of one scene")
    parser.add_argument("--steps", type=int, default=2400)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=_size, default=(128, 160), help="training crop HxW (at the inference scale)")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--eval-every", type=int, default=400)
    parser.add_argument("--checkpoint-every", type=int, default=0, metavar="STEPS",
                        help="save the resumable state (<out>.resume) every STEPS steps")
    parser.add_argument("--time-budget", type=float, metavar="MINUTES",
                        help="stop after MINUTES, save the resumable state and an intermediate checkpoint")
    parser.add_argument("--curve", type=Path, help="training-curve picture (default: <out> with .curve.png)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from <out>.resume if it exists (same settings required)")
    parser.add_argument("--resume-from", type=Path, metavar="STATE",
                        help="fork a run: start from this saved state (another run's .resume, same settings) "
                             "while <out>.resume does not exist yet; later invocations continue from <out>.resume")
    parser.add_argument("--finish-at", type=int, metavar="STEP",
                        help="finish a resumed run early, at STEP (< --steps): the learning rate falls on a cosine "
                             "from its value at the resumed step to 0 at STEP (the run then resumes only with it)")


def _data(args: argparse.Namespace) -> tuple[FrameSet, FrameSet | None, np.ndarray | None, FrameSet]:
    """Training frames, validation frames, per-frame sampling weights, and the frames classes are counted on."""
    if args.data is not None:
        frames = load_folder(args.data, args.split, args.input_size)
        try:
            val = load_folder(args.data, args.val_split, args.input_size)
        except ValueError:
            val = None
        if args.mix_synthetic <= 0:
            return frames, val, None, frames
        synthetic = synthetic_frame_set(args.sequences, args.frames_per_sequence, args.stride, args.input_size)
        both, weights = mix_frame_sets(frames, synthetic, args.mix_synthetic)
        return both, val, weights, frames
    frames = synthetic_frame_set(args.sequences, args.frames_per_sequence, args.stride, args.input_size)
    val = synthetic_frame_set(6, 4, 7, args.input_size, seed_base=500, progress=False)
    return frames, val, None, frames


def _init_weights(model: torch.nn.Module, path: Path) -> None:
    source, _ = load_checkpoint(path)
    own = model.state_dict()
    fitting = {k: v for k, v in source.state_dict().items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(fitting, strict=False)
    log.info("initialised %d/%d tensors from %s", len(fitting), len(own), path)


def run(args: argparse.Namespace) -> int:
    frames, val, sample_weights, counted = _data(args)
    loss_weights = class_weights(counted.class_frequencies(), args.class_weights)
    options: dict[str, object] = {}
    if args.arch == "bayesian_unet":
        options = {"width": args.width}
        if args.dropout_kind != "channel":
            options["dropout_kind"] = args.dropout_kind
        if args.dropout_placement != "deep":
            options["dropout_placement"] = args.dropout_placement
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
        zoom=args.zoom,
        blur=args.blur,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        eval_every=args.eval_every,
        checkpoint_every=args.checkpoint_every,
        time_budget=None if args.time_budget is None else args.time_budget * 60.0,
        resume_file=resume_path(args.out),
        resume=args.resume,
        resume_from=args.resume_from,
        finish_at=args.finish_at,
        freeze_bn=args.freeze_bn,
    )
    result = train(model, meta, frames, config, val, sample_weights=sample_weights, loss_weights=loss_weights)
    argv = _without_time_budget(sys.argv[2:])
    command = "vqseg train " + " ".join(shlex.quote(a) for a in argv) if argv else "vqseg train"
    meta = ModelMeta(
        **{
            **meta.__dict__,
            "training": {
                "command": command,
                "data": str(args.data) if args.data else "synthetic",
                "mix_synthetic": args.mix_synthetic,
                "class_weights": args.class_weights,
                "frames": len(frames),
                "steps_done": result.steps_done,
                "steps": args.steps,
                "finished": result.finished,
                **({"finish": result.finish} if result.finish else {}),
                "seconds": round(result.seconds, 1),
                "history": result.history,
            },
        }
    )
    path = save_checkpoint(args.out, model, meta)
    final = result.history[-1] if result.history else {}
    if result.history:
        curve = write_training_curve(args.curve or args.out.with_suffix(".curve.png"), result.history, args.out.stem)
        print(f"training curve: {curve}")
    end = int(result.finish["at"]) if result.finish else args.steps
    done = "finished" if result.finished else f"stopped at step {result.steps_done}/{end} (--resume continues)"
    size = path.stat().st_size / 1e6
    print(f"wrote {path} ({size:.1f} MB), {done}, {result.seconds / 60:.1f} min; last val: {final}")
    return 0


def _without_time_budget(argv: list[str]) -> list[str]:
    """The command line as recorded in the checkpoint: a time budget says how one invocation stopped, not the recipe."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--time-budget":
            skip = True
        elif not arg.startswith("--time-budget="):
            kept.append(arg)
    return kept
