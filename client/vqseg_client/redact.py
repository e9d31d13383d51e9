"""Source addresses as they may be shown or logged: credentials hidden.

``redact`` hides the password of a URL's user info (``rtsp://admin:***@cam``; a lone user info may
itself be a token: ``rtsp://***@cam``) and the values of query parameters that carry secrets
(``?token=***``, ``password``, ``key``, ``signature``, ...), and escapes control characters so a
source cannot forge log lines.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^\x21-\x7e]")  # anything but printable ASCII without space
_SECRET_PARAMS = re.compile(
    r"(?i)([?&;](?:[\w.-]*[_.-])?(?:pass|passwd|password|pwd|token|secret|key|apikey|auth|authorization|"
    r"credential|credentials|signature|sig|session|sessionid|jwt)=)[^&;#]*"
)


def redact(uri: str) -> str:
    """``uri`` with its credentials replaced by ``***`` (control characters escaped)."""
    text = uri.encode("unicode_escape").decode("ascii") if _UNSAFE.search(uri.replace(" ", "")) else uri
    text = _SECRET_PARAMS.sub(r"\1***", text)
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
