"""Resident memory (RSS) of a process, read from ``/proc`` (Linux), and a sampler that records it."""

from __future__ import annotations

from pathlib import Path

MB = 1024.0 * 1024.0


def rss_bytes(pid: int) -> int | None:
    """The process's resident set size in bytes (``VmRSS``); None when it cannot be read."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def rss_mb(pid: int) -> float | None:
    value = rss_bytes(pid)
    return None if value is None else value / MB
