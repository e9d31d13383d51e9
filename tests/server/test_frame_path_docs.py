"""docs/server.md's call-by-call picture of a WebSocket frame stays true: every call it names exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "server.md"


def test_the_frame_path_in_the_docs_names_real_code() -> None:
    text = DOCS.read_text()
    found = re.search(r"<!-- frame-path:begin -->\n(.*?)<!-- frame-path:end -->", text, re.S)
    assert found is not None
    calls = re.findall(r"^\| \d+ \| [^|]+ \| `([\w.]+)` \|", found.group(1), re.M)
    assert len(calls) == 12
    for dotted in calls:
        parts = dotted.split(".")
        for split in range(len(parts) - 1, 0, -1):
            try:
                target: object = importlib.import_module(".".join(parts[:split]))
            except ImportError:
                continue
            for name in parts[split:]:
                target = getattr(target, name)
            assert callable(target), dotted
            break
        else:
            raise AssertionError(f"no module for {dotted}")
