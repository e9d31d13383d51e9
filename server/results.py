"""What a processed frame becomes, per the job's format: which maps it needs (``output_specs``), and the
``FrameResult`` with the wire forms (``encode_result``: binary frame, JSON text, overlay PNG), built in
the encode pool, off the inference thread."""

from __future__ import annotations

import time
from collections.abc import Sequence

from server.encode import b64_jpeg, binary_result, overlay_png, result_fields, result_text
from server.frame_maps import HostMaps, OutputSpec
from server.jobs import FrameJob, FrameResult, ReplySpec
from streaming import Mode


def output_specs(reply: ReplySpec, max_pixels: int) -> list[OutputSpec]:
    """The result maps a reply needs: its own form, plus protocol 1's for watchers of a binary stream."""
    json_spec = OutputSpec(reply.maps, "uint16", "frame", max_pixels)
    if reply.fmt == "binary":
        own = OutputSpec(reply.maps, reply.map_dtype, reply.size, max_pixels)
        return [own, json_spec] if reply.also_json else [own]
    if reply.fmt == "none":  # only the summary is read: the cheapest maps
        return [OutputSpec((), "uint8", "network", max_pixels)]
    return [json_spec]


def encode_result(
    job: FrameJob, mode: Mode, hosts: list[HostMaps], header: dict[str, object], timing: dict[str, float],
    palette: Sequence[Sequence[int]],
) -> FrameResult:
    """The frame's ``FrameResult``; sets ``timing['encode']`` and ``timing['total']``."""
    host, reply, image = hosts[0], job.reply, job.frame.image
    t0 = time.perf_counter()
    text = png = frame_b64 = data = None
    fields: dict[str, object] | None = None
    if reply.fmt == "png":
        png = overlay_png(image, host, palette)
    elif reply.fmt == "none":  # nobody reads the images (a pulled stream without watchers): no text, so a
        pass  # watcher who arrives meanwhile never gets a result without maps
    elif reply.fmt == "json" or len(hosts) > 1:  # protocol 1 for the client, or for watchers
        fields = result_fields(hosts[-1], reply.maps)
        if reply.include_frame:
            frame_b64 = b64_jpeg(image)
    now = time.perf_counter()
    timing["encode"] = (now - t0) * 1000.0
    timing["total"] = (now - job.received) * 1000.0
    if reply.fmt == "binary":
        data = binary_result(header, host, reply.maps, timing)
    if fields is not None:
        text = result_text(header, fields, timing)
    return FrameResult(
        stream_id=job.frame.session.stream_id if job.frame.session is not None else None,
        mode=mode, frame_index=int(header["frame_index"]),  # type: ignore[call-overload]
        mean_uncertainty=host.mean_uncertainty, low_confidence=host.low_confidence,
        timing_ms=timing, text=text, png=png, frame_b64=frame_b64, data=data,
    )
