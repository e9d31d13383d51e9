"""Source addresses as they may be shown or logged: credentials hidden.

``redact`` hides the password of a URL's user info (``rtsp://admin:***@cam``; a lone user info may
itself be a token: ``rtsp://***@cam``) and the values of query parameters that carry secrets
(``?token=***``, ``password``, ``pwd``, ``user``, ``key``, ``signature``, ...; names also when
percent-encoded), and escapes control characters so a source cannot forge log lines.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

_UNSAFE = re.compile(r"[^\x21-\x7e]")  # anything but printable ASCII without space
# Query parameter names (percent-decoded, lower case, after any ``prefix_``) whose values are credentials.
_SECRET_NAME = re.compile(
    r"(?:[\w.-]*[_.-])?(?:pass|passwd|password|pwd|user|username|usr|login|token|secret|key|apikey|auth|"
    r"authorization|credential|credentials|signature|sig|session|sessionid|jwt)"
)
_QUERY_ITEM = re.compile(r"([?&;])([^=&;#\s\"']*)=([^&;#\s\"']*)")


def redact_query(text: str) -> str:
    """``text`` (a URL, a logged request line) with the values of credential query parameters replaced
    by ``***``; names are compared after percent-decoding (``%6Bey=`` is ``key=``)."""

    def hide(match: re.Match[str]) -> str:
        name = unquote(match.group(2)).strip().lower()
        return f"{match.group(1)}{match.group(2)}=***" if _SECRET_NAME.fullmatch(name) else match.group(0)

    return _QUERY_ITEM.sub(hide, text)


def redact(uri: str) -> str:
    """``uri`` with its credentials replaced by ``***`` (control characters escaped)."""
    text = uri.encode("unicode_escape").decode("ascii") if _UNSAFE.search(uri.replace(" ", "")) else uri
    text = redact_query(text)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    netloc_end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    netloc = rest[:netloc_end]
    if "@" not in netloc:
        return text
    userinfo, _, host = netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    hidden = f"{user}:***" if colon and user else "***"
    return f"{scheme}://{hidden}@{host}{rest[netloc_end:]}"
