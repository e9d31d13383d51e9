"""Container health check: GET /healthz on this container's own port; exit 0 on HTTP 200, else 1.

Standard library only (no curl in the image). The port is VQSEG_PORT; VQSEG_HEALTHCHECK_URL overrides
the whole URL (the compose demo's client checks that the server has its stream:
``http://vqseg:8000/v1/streams/demo``), sent with the first key of VQSEG_API_KEY as ``X-API-Key`` when
one is set. Proxies from the environment are ignored: the request goes straight to the URL.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def health_url() -> str:
    explicit = os.environ.get("VQSEG_HEALTHCHECK_URL", "").strip()
    if explicit:
        return explicit
    port = os.environ.get("VQSEG_PORT", "8000").strip() or "8000"
    return f"http://127.0.0.1:{port}/healthz"


def main() -> int:
    url = health_url()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url)
    key = os.environ.get("VQSEG_API_KEY", "").split(",")[0].strip()
    if key:
        request.add_header("X-API-Key", key)
    try:
        with opener.open(request, timeout=float(os.environ.get("VQSEG_HEALTHCHECK_TIMEOUT", "4"))) as reply:
            if reply.status == 200:
                return 0
            sys.stderr.write(f"healthcheck: {url} answered {reply.status}\n")
    except (OSError, ValueError) as exc:  # URLError/HTTPError are OSErrors; ValueError: malformed URL
        sys.stderr.write(f"healthcheck: {url}: {exc}\n")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
