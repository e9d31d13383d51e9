"""``vqseg stream SOURCE``: the client package's command (``vqseg_client.stream_command``)."""

from vqseg_client.stream_command import configure, run

__all__ = ["configure", "run"]
