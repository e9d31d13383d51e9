"""A loopback RTSP server for the client tests (Debian's GStreamer RTSP server).

Run it with the system interpreter, whose python3-gi bindings see GstRtspServer (the venv cannot):

    /usr/bin/python3 tests/client/rtsp_server.py --clip clip.mp4     # an H.264 .mp4, looped per client
    /usr/bin/python3 tests/client/rtsp_server.py --live              # videotestsrc, live

It binds 127.0.0.1 on ``--port`` (0 = a free port), prints ``READY rtsp://127.0.0.1:PORT/stream`` on
stdout once it listens, and serves until SIGTERM/SIGINT. Packages:
``apt-get install gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base
gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly``.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def launch_line(clip: str | None, width: int, height: int, fps: int) -> str:
    if clip:
        return f"( filesrc location={clip} ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    return (
        f"( videotestsrc is-live=true pattern=ball ! video/x-raw,width={width},height={height},framerate={fps}/1 "
        "! videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 "
        "! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", help="H.264 .mp4 to serve (default: a live test pattern)")
    parser.add_argument("--live", action="store_true", help="serve a live videotestsrc")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mount", default="/stream")
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--fps", type=int, default=15)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(None if args.live else args.clip, width, height, args.fps))
    factory.set_shared(False)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print("cannot bind the RTSP server", file=sys.stderr)
        return 1

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY rtsp://127.0.0.1:{server.get_bound_port()}{args.mount}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
