"""Which ``Host`` names the server answers to: the defence against DNS rebinding.

A web page on an attacker's name that later resolves to 127.0.0.1 (or to a camera box on the LAN)
is, for the browser, same-origin with the server: it may read answers and open WebSockets. What
gives it away is the ``Host`` header, which carries the attacker's name. So a request is answered
only when its ``Host`` is

- an IP address literal (a browser page at an IP is the server's own origin: nothing to rebind),
- a loopback name (``localhost``, ``*.localhost``, ``localhost.localdomain``),
- or a name the operator lists in ``VQSEG_ALLOWED_HOSTS`` (comma separated; ``*.example.com``
  covers subdomains; ``*`` turns the check off).

Everything else is 400 ``bad_host``; a request with no ``Host`` or with two is 400 too (as nginx
answers). ``/healthz`` and ``/readyz`` accept any single ``Host`` (orchestrators probe by pod name).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "*.localhost")


def split_host(value: str) -> str:
    """The host name of a ``Host`` header value (port and IPv6 brackets removed, lower case)."""
    text = value.strip().lower().rstrip(".")
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class HostNames:
    """The names the server answers to (``VQSEG_ALLOWED_HOSTS`` plus loopback names and IP literals)."""

    def __init__(self, listed: Sequence[str] = ()) -> None:
        names = [n.strip().lower().rstrip(".") for n in listed if n.strip()]
        self.any = "*" in names
        patterns = [*LOOPBACK_NAMES, *(n for n in names if n != "*")]
        self.exact = {p for p in patterns if not p.startswith("*.")}
        self.suffixes = tuple(p[1:] for p in patterns if p.startswith("*."))  # ".example.com"

    def allows(self, host: str) -> bool:
        """Whether the host name (see ``split_host``) is one the server answers to."""
        if self.any:
            return True
        if not host:
            return False
        if is_ip_literal(host) or host in self.exact:
            return True
        return host.endswith(self.suffixes) if self.suffixes else False
