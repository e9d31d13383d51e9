"""The ``vqseg`` command: one sub-command per job, each implemented in the package that owns it.

Sub-command modules are imported only when used, so ``vqseg --help`` is instant. Each module
provides ``configure(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from vqseg import __version__

COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("server.commands.serve", "run the HTTP/WebSocket inference server"),
    "stream": ("server.commands.stream", "stream a webcam, RTSP URL, video file or synthetic: scene to a server"),
    "demo": ("server.commands.demo", "serve + stream the built-in synthetic street scene; write an overlay video"),
    "eval": ("evaluation.commands.evaluate", "compare dnn / bnn / vqdnn / vqbnn on held-out video with labels"),
    "calibrate": ("evaluation.commands.calibrate", "fit a temperature per mode on labelled video, into a checkpoint"),
    "bench": ("benchmarks.command", "measure frames per second, latency and memory (JSON + markdown)"),
    "train": ("models.training.command", "train a segmentation network (synthetic scenes or a labelled folder)"),
    "export": ("models.onnx.command", "export a checkpoint to ONNX with live (stochastic) dropout"),
    "import": ("models.import_command", "a model from SMP, torchvision, Hugging Face to a vqseg ONNX file"),
    "harvest": ("server.commands.harvest", "export harvested uncertain frames for CVAT and vqseg train --data"),
}


def _overview() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name.ljust(width)}  {text}" for name, (_, text) in COMMANDS.items()]
    return "commands:\n" + "\n".join(lines) + "\n\nRun 'vqseg COMMAND --help' for a command's options."


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    top = argparse.ArgumentParser(
        prog="vqseg",
        description="Real-time video semantic segmentation with per-pixel uncertainty (VQ-BNN).",
        epilog=_overview(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"vqseg {__version__}")
    top.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    top.add_argument("command", nargs="?", choices=sorted(COMMANDS), metavar="COMMAND")
    top.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    ns = top.parse_args(argv)
    if ns.command is None:
        top.print_help()
        return 2
    logging.basicConfig(level=ns.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    module_name, text = COMMANDS[ns.command]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"vqseg {ns.command}", description=text)
    module.configure(parser)
    args = parser.parse_args(ns.args)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
