"""Keys never reach the logs: credential values in logged URLs (``key=``, ``api_key=``, ``token=``,
``password=``, ``pwd=``, ``user=``... also percent-encoded, such as ``%6Bey=``) become ``***``.

uvicorn writes the full request path with its query string to the access log (``uvicorn.access``)
and WebSocket handshakes to ``uvicorn.error``; browsers can only put a key in a WebSocket URL's
query. ``install`` adds a filter to both loggers that rewrites the message and its arguments.
"""

from __future__ import annotations

import logging

from vqseg_client.redact import redact_query

LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact_keys(text: str) -> str:
    return redact_query(text)


class KeyRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_keys(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_keys(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, KeyRedactor) for f in logger.filters):
            logger.addFilter(KeyRedactor())
