"""Render the built-in synthetic street scene to a video file: the clip the compose demo's RTSP server loops.

    python make_demo_clip.py --out /data/demo.mp4
    python make_demo_clip.py --out clip.mp4 --source "synthetic:street?seed=3&w=640&h=360&fps=15&frames=150"

The file is written under a temporary name and renamed when complete, so a server that is waiting for
it never opens half a clip. An existing clip is kept (the demo's one-shot service runs on every
``docker compose up``) unless ``--force`` is given. The codec is MPEG-4 Part 2 (``mp4v``), which every
OpenCV wheel can write; the RTSP server re-encodes it to H.264 as it streams.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import cv2

from streaming.errors import StreamingError
from vqseg_client.sources import open_source

DEFAULT_SOURCE = "synthetic:street?seed=7&w=640&h=360&fps=15&frames=300&scenario=drive"

log = logging.getLogger("make_demo_clip")


def write_clip(source_uri: str, out: Path, fourcc: str = "mp4v") -> int:
    """Write every frame of ``source_uri`` (a finite source) to ``out``; return the number of frames."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.stem}.partial{out.suffix}")
    writer: cv2.VideoWriter | None = None
    count = 0
    try:
        with open_source(source_uri) as source:
            if source.live:
                raise ValueError(f"{source_uri!r} is a live source; a clip needs a finite one")
            fps = source.fps or 15.0
            for frame in source:
                height, width = frame.image.shape[:2]
                if writer is None:
                    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
                    if not writer.isOpened():
                        raise RuntimeError(f"OpenCV cannot write {fourcc!r} video to {partial}")
                writer.write(cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
                count += 1
    finally:
        if writer is not None:
            writer.release()
    if count == 0:
        partial.unlink(missing_ok=True)
        raise ValueError(f"{source_uri!r} gave no frames")
    partial.replace(out)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="video file to write (.mp4)")
    parser.add_argument("--source", default=DEFAULT_SOURCE, help=f"a finite frame source (default {DEFAULT_SOURCE})")
    parser.add_argument("--force", action="store_true", help="render again even if --out exists")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if args.out.is_file() and args.out.stat().st_size > 0 and not args.force:
        log.info("%s exists; keeping it (--force renders it again)", args.out)
        return 0
    try:
        count = write_clip(args.source, args.out)
    except (StreamingError, ValueError, RuntimeError, OSError) as exc:
        log.error("%s", exc)
        return 1
    log.info("wrote %d frames to %s", count, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
