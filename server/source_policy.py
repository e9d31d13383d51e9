"""Which sources a server may pull, checked before anything is opened (``VQSEG_PULL_SOURCES``).

A policy is a comma-separated list of rules; a source that no rule allows is refused:

- ``synthetic``: the procedural street scene (``synthetic:street?...``);
- ``webcam:*`` or ``webcam:N``: local cameras (all, or camera N);
- ``file:/dir``: video files whose real path (symlinks and ``..`` resolved) lies under ``/dir``;
- ``SCHEME://HOST[:PORT]`` with SCHEME one of rtsp, rtsps, http, https. HOST is ``*`` (any host), a
  name or a glob (``*.cams.example``), an IP address or a network (``192.168.1.0/24``); PORT is a
  number or ``*`` (the default: any).

The host of a network source is resolved here, every address it resolves to is checked, and the
source is then opened at the checked address (the URL's host replaced by it), so a name cannot
resolve to something else when the connection is made. Loopback, private, link-local, multicast,
reserved and unspecified addresses are refused unless a rule names the address or network, or the
exact host name (globs and ``*`` cover public addresses only). Control characters, spaces and
non-ASCII text are refused anywhere in a source, as are FFmpeg's option words in an RTSP query
(``?udp``, ``?multicast``, ``?listen``...). ``redact`` (the reader's, ``vqseg_client.redact``) hides the
credentials of a URL wherever a source is shown or logged.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from vqseg_client.redact import redact
from vqseg_client.sources import SourceError

NETWORK_SCHEMES = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
MAX_WEBCAM_INDEX = 63
# FFmpeg reads these words from an RTSP URL's query as options (transport, listening, multicast).
_RTSP_OPTION_WORDS = frozenset({"udp", "tcp", "multicast", "http", "https", "filter_src", "listen", "timeout",
                                "localport", "localaddr", "reuse", "rtsp_flags"})
_UNSAFE = re.compile(r"[^\x21-\x7e]")  # anything but printable ASCII without space
_PORT = re.compile(r":(\d{1,5}|\*)$")

Resolver = Callable[[str, int], Sequence[str]]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

__all__ = ["CheckedSource", "SourcePolicy", "SourceRefused", "redact", "system_resolver"]


class SourceRefused(SourceError):
    """The source is not allowed by the server's pull policy (or is malformed)."""


@dataclass(frozen=True)
class CheckedSource:
    """A source the policy allows: ``target`` is what to open (network hosts pinned to the checked
    address), ``display`` the source with its password hidden, ``kind`` network|webcam|file|synthetic."""

    target: str
    display: str
    kind: str

    @property
    def network(self) -> bool:
        return self.kind == "network"


@dataclass(frozen=True)
class _NetRule:
    scheme: str
    host: str  # "*", a name glob, or "" when ``network`` is set
    network: Network | None
    port: int | None

    def matches_port(self, port: int) -> bool:
        return self.port is None or self.port == port


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise SourceRefused(f"cannot resolve host {host!r}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _unmapped(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public(address: Address) -> bool:
    address = _unmapped(address)
    return address.is_global and not address.is_multicast


class SourcePolicy:
    """Parsed rules; ``check(uri)`` says whether and how a source may be opened."""

    def __init__(self, rules: str, resolver: Resolver = system_resolver) -> None:
        self.text = rules
        self.synthetic = False
        self.webcams: set[int] | None = set()  # None = every camera
        self.dirs: list[str] = []
        self.net: list[_NetRule] = []
        self._resolve = resolver
        for raw in rules.split(","):
            rule = raw.strip()
            if rule:
                self._add(rule)

    @property
    def allows_anything(self) -> bool:
        return bool(self.synthetic or self.webcams is None or self.webcams or self.dirs or self.net)

    def _add(self, rule: str) -> None:
        low = rule.lower()
        if low in ("synthetic", "synthetic:", "synthetic:*"):
            self.synthetic = True
        elif low.startswith("webcam:"):
            index = low.split(":", 1)[1]
            if index == "*":
                self.webcams = None
            elif index.isascii() and index.isdigit() and int(index) <= MAX_WEBCAM_INDEX:
                if self.webcams is not None:
                    self.webcams.add(int(index))
            else:
                raise ValueError(f"pull source rule {rule!r}: webcam:* or webcam:0..{MAX_WEBCAM_INDEX}")
        elif low.startswith("file:"):
            path = rule[5:]
            if not os.path.isabs(path):
                raise ValueError(f"pull source rule {rule!r}: file: needs an absolute directory")
            self.dirs.append(os.path.realpath(path))
        elif "://" in low:
            self.net.append(_parse_net_rule(rule))
        else:
            raise ValueError(f"pull source rule {rule!r} is not synthetic, webcam:N, file:/dir or scheme://host")

    # ---- checking --------------------------------------------------------------------------
    def check(self, uri: str) -> CheckedSource:
        """The source to open for ``uri``; ``SourceRefused`` when the policy does not allow it."""
        text = uri.strip()
        if not text or _UNSAFE.search(text):
            raise SourceRefused("a source must be printable ASCII without spaces or control characters")
        low = text.lower()
        if low.startswith("synthetic:"):
            if not self.synthetic:
                raise _refused("synthetic scenes")
            return CheckedSource(text, text, "synthetic")
        if low.startswith("webcam:") or text.isdigit():
            return self._check_webcam(text)
        scheme, sep, _ = text.partition("://")
        if sep:
            return self._check_network(text, scheme.lower())
        if re.match(r"^[a-z][a-z0-9+.-]*:", low) and not low.startswith("file:"):
            raise _refused(f"'{low.split(':', 1)[0]}:' sources")
        return self._check_file(text)

    def _check_webcam(self, text: str) -> CheckedSource:
        index = text.split(":", 1)[1] if ":" in text else text
        index = index or "0"
        if not (index.isdigit() and len(index) <= 2 and int(index) <= MAX_WEBCAM_INDEX):
            raise SourceRefused(f"a webcam index is 0..{MAX_WEBCAM_INDEX}")
        if self.webcams is not None and int(index) not in self.webcams:
            raise _refused("this camera")
        return CheckedSource(str(int(index)), f"webcam:{int(index)}", "webcam")

    def _check_file(self, text: str) -> CheckedSource:
        path = text[5:] if text.lower().startswith("file:") else text
        if path.startswith("//"):  # file://host/path or file:///path
            path = "/" + path[2:].split("/", 1)[1] if "/" in path[2:] else ""
        if not self.dirs or not os.path.isabs(path):
            raise _refused("local files" if not self.dirs else "relative paths")
        real = os.path.realpath(path)
        if not any(real == d or real.startswith(d.rstrip("/") + "/") for d in self.dirs):
            raise _refused("files outside the allowed directories")
        if not os.path.isfile(real):
            raise SourceRefused(f"no such video file under the allowed directories: {path}")
        return CheckedSource(real, text, "file")

    def _check_network(self, text: str, scheme: str) -> CheckedSource:
        if scheme not in NETWORK_SCHEMES:
            raise _refused(f"'{scheme}://' sources")
        rules = [r for r in self.net if r.scheme == scheme]
        if not rules:
            raise _refused(f"'{scheme}://' sources")
        try:
            parts = urlsplit(text)
            host, port = parts.hostname, parts.port or NETWORK_SCHEMES[scheme]
        except ValueError as exc:
            raise SourceRefused(f"malformed URL: {exc}") from None
        if not host:
            raise SourceRefused("a network source needs a host")
        if scheme in ("rtsp", "rtsps"):
            _check_rtsp_query(parts.query)
        rules = [r for r in rules if r.matches_port(port)]
        literal = _as_address(host)
        addresses = [literal] if literal is not None else [_as_address(a) for a in self._resolve(host, port)]
        if not addresses or any(a is None for a in addresses):
            raise SourceRefused(f"cannot resolve host {host!r}")
        for address in addresses:
            assert address is not None
            if not any(_allows(rule, host, address, literal is not None) for rule in rules):
                raise _refused(f"{scheme}://{host}:{port} (address {address})")
        first = addresses[0]
        assert first is not None
        return CheckedSource(_pin(parts, first, port), redact(text), "network")


def _refused(what: str) -> SourceRefused:
    return SourceRefused(f"the server's pull policy does not allow {what} (VQSEG_PULL_SOURCES)")


def _parse_net_rule(rule: str) -> _NetRule:
    scheme, _, rest = rule.partition("://")
    scheme = scheme.lower()
    if scheme not in NETWORK_SCHEMES:
        raise ValueError(f"pull source rule {rule!r}: scheme must be one of {', '.join(NETWORK_SCHEMES)}")
    port: int | None = None
    match = _PORT.search(rest)
    if match:
        port = None if match.group(1) == "*" else int(match.group(1))
        rest = rest[: match.start()]
    host = rest.strip("[]").lower()
    if not host:
        raise ValueError(f"pull source rule {rule!r} has no host")
    network: Network | None = None
    if host != "*" and not any(c in host for c in "*?["):
        try:
            network = ipaddress.ip_network(host, strict=False)
        except ValueError:
            network = None
    return _NetRule(scheme, "" if network is not None else host, network, port)


def _as_address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _allows(rule: _NetRule, host: str, address: Address, literal: bool) -> bool:
    if rule.network is not None:
        candidate = _unmapped(address)
        return candidate.version == rule.network.version and candidate in rule.network
    if rule.host == "*":
        return is_public(address)
    if literal:
        return False  # an address is allowed by networks and "*" only
    if any(c in rule.host for c in "*?["):
        return fnmatch.fnmatchcase(host.lower(), rule.host) and is_public(address)
    return host.lower() == rule.host  # an exact name, listed: whatever it resolves to


def _check_rtsp_query(query: str) -> None:
    for item in re.split(r"[&?]", query):
        word = item.split("=", 1)[0].lower()
        if word in _RTSP_OPTION_WORDS:
            raise SourceRefused(f"RTSP URL option {word!r} is not allowed in a pulled source")


def _pin(parts: SplitResult, address: Address, port: int) -> str:
    host = f"[{address}]" if address.version == 6 else str(address)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
