"""An RTSP camera for the compose demo: ffmpeg loops a clip in real time, GStreamer serves it over RTSP.

    python3 rtsp_camera.py --clip /clips/demo.mp4 --port 8554 --mount /demo   -> rtsp://HOST:8554/demo

ffmpeg reads the clip at its own frame rate (``-re``), forever (``-stream_loop -1``), encodes H.264
(key frame every second) and writes MPEG-TS to its stdout; this program feeds those bytes into a
live ``appsrc`` of Debian's GStreamer RTSP server (one shared media: every client sees the same live
picture), which serves RTP H.264 over TCP or UDP as the client asks. While no client watches, the
bytes are read and dropped, so the clip runs on like a real camera. Runs with Debian's system Python
(python3-gi). Exits 0 on SIGTERM/SIGINT (stopping ffmpeg), 1 if ffmpeg dies, 2 if the clip never
appears (``--wait``).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def ffmpeg_command(clip: str) -> list[str]:
    return [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
        "-re", "-stream_loop", "-1", "-i", clip,
        "-an", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
        "-g", "15", "-f", "mpegts", "pipe:1",
    ]


LAUNCH = (
    '( appsrc name=camera is-live=true do-timestamp=true format=time caps="video/mpegts,systemstream=(boolean)true" '
    "! tsdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )"
)
CHUNK = 188 * 7  # MPEG-TS packets


class Feeder:
    """Reads ffmpeg's stdout on a thread; pushes it into the media's appsrc while there is one."""

    def __init__(self, ffmpeg: subprocess.Popen[bytes]) -> None:
        self.ffmpeg = ffmpeg
        self.lock = threading.Lock()
        self.appsrc: Gst.Element | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def attach(self, factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
        del factory
        appsrc = media.get_element().get_child_by_name("camera")
        with self.lock:
            self.appsrc = appsrc
        media.connect("unprepared", self._detach)

    def _detach(self, media: GstRtspServer.RTSPMedia) -> None:
        del media
        with self.lock:
            self.appsrc = None

    def _run(self) -> None:
        assert self.ffmpeg.stdout is not None
        while chunk := self.ffmpeg.stdout.read(CHUNK):
            with self.lock:
                appsrc = self.appsrc
            if appsrc is not None:
                appsrc.emit("push-buffer", Gst.Buffer.new_wrapped(chunk))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", required=True, help="video file to loop (any format ffmpeg reads)")
    parser.add_argument("--address", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--mount", default="/demo")
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the clip to appear")
    args = parser.parse_args()

    deadline = time.monotonic() + args.wait
    while not Path(args.clip).is_file():
        if time.monotonic() > deadline:
            print(f"rtsp-camera: {args.clip} did not appear within {args.wait:.0f} s", file=sys.stderr)
            return 2
        time.sleep(0.5)

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(LAUNCH)
    factory.set_shared(True)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print(f"rtsp-camera: cannot listen on {args.address}:{args.port}", file=sys.stderr)
        return 1

    ffmpeg = subprocess.Popen(ffmpeg_command(args.clip), stdout=subprocess.PIPE)
    feeder = Feeder(ffmpeg)
    factory.connect("media-configure", feeder.attach)
    loop = GLib.MainLoop()
    status = {"code": 0}

    def stop() -> bool:
        loop.quit()
        return GLib.SOURCE_REMOVE

    def watch_ffmpeg() -> bool:
        if ffmpeg.poll() is None:
            return GLib.SOURCE_CONTINUE
        print(f"rtsp-camera: ffmpeg exited with {ffmpeg.returncode}", file=sys.stderr)
        status["code"] = 1
        loop.quit()
        return GLib.SOURCE_REMOVE

    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, stop)
    GLib.timeout_add(500, watch_ffmpeg)
    print(f"rtsp-camera: serving {args.clip} at rtsp://{args.address}:{server.get_bound_port()}{args.mount}",
          flush=True)
    loop.run()
    if ffmpeg.poll() is None:
        ffmpeg.terminate()
        try:
            ffmpeg.wait(timeout=5)
        except subprocess.TimeoutExpired:
            ffmpeg.kill()
            ffmpeg.wait()
    return status["code"]


if __name__ == "__main__":
    raise SystemExit(main())
