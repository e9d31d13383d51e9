"""``vqseg bench --hostile``'s round-3 attack classes (issue 20) against a real uvicorn server on
127.0.0.1 with the default limits: each one is answered refused or bounded, never FAILED; and the
verdicts read outcomes that show a failure, or nothing at all, as such."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks.attackers_round3 import CLASSES, run_class, verdict
from benchmarks.hostile_bench import HostileConfig, add_server_log, class_verdicts, render_hostile
from tests.server.conftest import ServerFactory

EXPECTED = {"scan_bomb": "refused", "huge_scene": "refused", "amplification": "bounded", "pong_flood": "bounded",
            "rebinding": "refused"}


def test_every_round3_class_is_refused_or_bounded_by_a_default_server(start_server: ServerFactory) -> None:
    live = start_server()  # the defaults: 16 MiB frames, 8192² pixels, 1920x1080 output, synthetic pulls only
    for name in CLASSES:
        seconds = 7.0 if name == "pong_flood" else 2.0  # a stall shows after the pinger's 5 s drain wait
        outcomes = asyncio.run(run_class(live.url, name, seconds))
        assert verdict(name, outcomes)[0] == EXPECTED[name], (name, outcomes)
        assert not [k for k in outcomes if k.startswith(("accepted_", "attacker_error_"))], (name, outcomes)
    with live.client() as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/v1/streams").json()["streams"] == []  # no pulled scene was left running


@pytest.mark.parametrize(("name", "outcomes", "expected"), [
    ("scan_bomb", {"body_scans_http_413": 3, "multipart_scans_http_413": 3}, "refused"),
    ("scan_bomb", {"body_scans_http_413": 3, "body_http_413": 1}, "no answer"),  # one never reached the check
    ("scan_bomb", {"body_scans_http_413": 3, "accepted_scan_bomb": 1}, "FAILED"),
    ("huge_scene", {}, "no answer"),
    ("huge_scene", {"ReadTimeout": 4}, "no answer"),
    ("amplification", {"bounded": 2, "largest_answer_kb": 6000}, "bounded"),
    ("amplification", {"http_503": 5}, "no answer"),
    ("amplification", {"bounded": 1, "accepted_amplification": 1}, "FAILED"),
    ("pong_flood", {"stalled_by_server": 2, "most_mb_sent_before_stall": 12}, "bounded"),
    ("pong_flood", {"never_stalled": 1, "most_mb_sent_unstalled": 8}, "no answer"),
    ("pong_flood", {"accepted_pong_flood": 1, "most_mb_sent_unstalled": 700}, "FAILED"),
    ("rebinding", {"get_http_400": 1, "post_http_400": 1, "ws_http_400": 1}, "refused"),
    ("rebinding", {"get_http_400": 1, "attacker_error_KeyError": 1}, "no answer"),
])
def test_verdicts_read_outcomes(name: str, outcomes: dict[str, int], expected: str) -> None:
    assert verdict(name, outcomes)[0] == expected


def test_the_report_shows_the_worse_verdict_each_class_rss_and_server_tracebacks(tmp_path: Path) -> None:
    together = {name: {"http_400": 1} for name in CLASSES} | {"scan_bomb": {"body_scans_http_413": 4}}
    alone = {name: {"outcomes": {"http_400": 1}, "rss_before_mb": 1000.0, "rss_peak_mb": 1010.0,
                    "rss_after_mb": 1001.0} for name in CLASSES}
    alone["scan_bomb"]["outcomes"] = {"accepted_scan_bomb": 1}
    verdicts = class_verdicts(together, alone)
    assert verdicts["scan_bomb"]["verdict"] == "FAILED" and verdicts["scan_bomb"]["with_others"][0] == "refused"
    figures = {"sent": 1, "served": 1, "served_fps": 1.0, "latency_ms": {"p50": 1.0, "p99": 1.0}, "errors": {},
               "rss_peak_mb": 1000.0}
    hostile = {"config": HostileConfig().__dict__, "baseline": figures, "attack": figures, "rss_start_mb": 900.0,
               "rss_peak_ratio": 1.0, "attackers": together, "classes_alone": alone, "verdicts": verdicts,
               "hardening_failures": {}}
    log = tmp_path / "hostile-server.log"
    log.write_text("ERROR server.errors: internal error\nTraceback (most recent call last):\n  ...\n")
    add_server_log(hostile, log)  # the attacker saw a fitting status, the server logged an internal error
    text = render_hostile({}, hostile)
    assert "| scan_bomb | **FAILED** |" in text and "1,000 → 1,010 (+10)" in text
    assert hostile["hardening_failures"] == {"server_log.tracebacks": 1} and "Tracebacks in the server's log: 1" in text
